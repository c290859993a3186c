public import EventSourcing
import Foundation
import Kafka
import Logging
import PostgresNIO
import Sagas
import ServiceHTTP
import ServiceLifecycle
import ServiceSupport

/// A saga or process manager of a context, with what the orchestrator needs to run and serve
/// it: the stream types it reacts to (their topics become its subscription), its consumer
/// group, where its instances are served (`GET <path>/{id}`, `GET <path>`, the admin retry)
/// and the command types it sends (which the relay's hold switch accepts).
public struct SagaSide: Sendable {
    public var name: String
    public var reactsTo: [String]
    /// nil: `saga-orchestrator-<name>`.
    public var group: String?
    public var path: String
    /// The path parameter naming an instance (e.g. "bookingId").
    public var idParameter: String
    public var commandTypes: [String]
    let make: @Sendable (SagaEnvironment) throws -> SagaRuntime

    /// `definition` is built when the orchestrator starts (it may read settings: a
    /// `ConfigurationError` stops the service with exit status 2).
    public init<Definition: SagaDefinition>(
        name: String, reactsTo: [String], group: String? = nil, path: String, idParameter: String, commandTypes: [String],
        definition: @escaping @Sendable (_ commandTopic: @escaping @Sendable (String) -> String) throws -> Definition
    ) {
        self.name = name
        self.reactsTo = reactsTo
        self.group = group
        self.path = path
        self.idParameter = idParameter
        self.commandTypes = commandTypes
        self.make = { environment in
            let saga = try definition(environment.commandTopic)
            var watched = SagaStore(definition: saga, client: environment.client, logger: environment.logger)
            watched.deadlineWatch = environment.deadlineWatch
            watched.writeGate = environment.writeGate
            let store = watched
            return SagaRuntime(
                name: saga.name,
                services: { subscription, producer in
                    [
                        SagaProcessor(
                            configuration: .init(
                                groupID: subscription.group, topics: subscription.topics, instanceID: subscription.instanceID,
                                bootstrapServers: subscription.bootstrapServers, deadLetterTopic: subscription.deadLetterTopic),
                            store: store, producer: producer, logger: environment.logger),
                        SagaDeadlineScheduler(store: store, logger: environment.logger),
                    ]
                },
                retry: { id, who in
                    do {
                        return .retried(try await store.retry(id, operator: who))
                    } catch let error as SagaStore<Definition>.NotRetryable {
                        return .notRetryable(status: error.status, reason: error.description)
                    }
                })
        }
    }
}

/// Where a saga's processor reads from and dead-letters to.
struct SagaSubscription: Sendable {
    let group: String
    let topics: [String]
    let instanceID: String
    let bootstrapServers: String
    let deadLetterTopic: String
}

struct SagaEnvironment: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// The command topic of a context, by the context's name.
    let commandTopic: @Sendable (String) -> String
    /// Tells queued commands from silent participants for every saga's deadlines.
    let deadlineWatch: DeadlineWatch
    /// Every saga's event batches share it: a bound on transactions at once, finishing first.
    let writeGate: SagaWriteGate
}

/// A saga as the orchestrator runs it, its definition's type erased.
struct SagaRuntime: Sendable {
    enum RetryOutcome: Sendable {
        case retried(SagaStatus)
        case notRetryable(status: String?, reason: String)
    }

    let name: String
    let services: @Sendable (SagaSubscription, KafkaProducer) -> [any Service]
    let retry: @Sendable (_ id: String, _ operator: String) async throws -> RetryOutcome
}

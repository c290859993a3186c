import CheckoutSuite
import Checkout
import CheckoutReadModels
import EventStore
import Foundation
import Kafka
import Projections
import ServiceSupport

/// The checkout projections as this service runs them: one processor (one consumer group)
/// over the event topics, and the dead-letter store for operators.
struct ProjectionRuntime: Sendable {
    static let processorName = CheckoutNames.Groups.readModels
    static let topics = CheckoutNames.Topics.events

    let processor: ProjectionProcessor
    let deadLetters: DeadLetterStore
    let eventStore: PostgresEventStore
    let context: ServiceContext

    static func checkout(context: ServiceContext, faults: FaultSwitch) throws(ConfigurationError) -> ProjectionRuntime {
        let plain = CheckoutReadModels.all.map(\.projection)
        let projections: [any Projection] = plain.map { projection -> any Projection in FaultInjectingProjection(projection, faults: faults) }
        var configuration = ProjectionProcessor.Configuration(
            name: processorName, topics: topics, instanceID: context.configuration.instanceID,
            bootstrapServers: context.configuration.kafkaBrokers, deadLetterTopic: CheckoutNames.Topics.deadLetters)
        configuration.retry = RetryPolicy(attempts: try integerSetting("PROJECTION_RETRY_ATTEMPTS", default: 3, range: 1...100))
        return ProjectionRuntime(
            processor: ProjectionProcessor(
                configuration: configuration, projections: projections, client: context.postgres, producer: context.kafkaProducer,
                logger: context.logger),
            deadLetters: DeadLetterStore(client: context.postgres, logger: context.logger, projections: projections),
            eventStore: PostgresEventStore(client: context.postgres, logger: context.logger, topicForStreamType: CheckoutNames.Topics.topic(forStreamType:)),
            context: context)
    }
}

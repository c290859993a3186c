public import ConsumerRuntime
public import EventSourcing
public import EventStore
import Foundation
public import Kafka
public import Logging
import Metrics
public import ServiceLifecycle
import ServiceSupport

/// Feeds a saga definition the events of its topics, as one Kafka consumer group on the
/// consumer runtime: each partition's batch is handled in one saga-store transaction (many
/// instances at once), partitions concurrently. Offsets are committed after the batch, so a
/// crash redelivers and the streams' arrival positions make that harmless. Several
/// orchestrators may run; instance row locks let one advance an instance at a time.
public struct SagaProcessor<Definition: SagaDefinition>: Service {
    public struct Configuration: Sendable {
        public var groupID: String
        public var topics: [String]
        public var instanceID: String
        public var bootstrapServers: String
        public var maxBatch = 2_000
        /// Where an unreadable record is copied.
        public var deadLetterTopic: String

        public init(groupID: String, topics: [String], instanceID: String, bootstrapServers: String, deadLetterTopic: String) {
            self.deadLetterTopic = deadLetterTopic
            self.groupID = groupID
            self.topics = topics
            self.instanceID = instanceID
            self.bootstrapServers = bootstrapServers
        }
    }

    public let runtime: ConsumerRuntime<SagaBatchHandler<Definition>>

    public init(configuration: Configuration, store: SagaStore<Definition>, producer: KafkaProducer, logger: Logger) {
        var runtimeConfiguration = ConsumerRuntime<SagaBatchHandler<Definition>>.Configuration(
            groupID: configuration.groupID, topics: configuration.topics, instanceID: configuration.instanceID,
            bootstrapServers: configuration.bootstrapServers)
        // A new group starts at the earliest retained event: a saga never misses its start.
        runtimeConfiguration.kafkaOverrides = ["auto.offset.reset": "earliest"]
        runtimeConfiguration.maxBatch = configuration.maxBatch
        runtime = ConsumerRuntime(
            configuration: runtimeConfiguration,
            handler: SagaBatchHandler(
                store: store, producer: producer, groupID: configuration.groupID, deadLetterTopic: configuration.deadLetterTopic, logger: logger), logger: logger)
    }

    public func run() async throws { try await runtime.run() }
}

/// A partition's events handed to the saga store as one batch; a record that is not a readable
/// event goes to the dead-letter topic.
public struct SagaBatchHandler<Definition: SagaDefinition>: BatchHandler {
    let store: SagaStore<Definition>
    let producer: KafkaProducer
    let groupID: String
    let deadLetterTopic: String
    let logger: Logger
    private let handled = Counter(label: "saga_events_handled_total")
    private let versionGaps = Counter(label: "saga_version_gaps_total")
    private let duplicates = Counter(label: "saga_events_duplicate_total")
    private let commandsWritten = Counter(label: "saga_commands_written_total")

    public var commits: CommitMode { .kafkaOffsets }

    public func decode(_ record: KafkaConsumedMessage) -> DecodedEvent { DecodedEvent(record) }

    public func handle(_ batch: [Delivery<DecodedEvent>], of partition: KafkaTopicPartition) async throws -> BatchOutcome {
        var events: [RecordedEvent] = []
        var records: [KafkaConsumedMessage] = []
        var unreadable: [(KafkaConsumedMessage, String)] = []
        for delivery in batch {
            switch delivery.item {
            case .event(let event):
                events.append(event)
                records.append(delivery.record)
            case .unreadable(let reason): unreadable.append((delivery.record, "unreadable event: \(reason)"))
            }
        }
        let outcomes = try await store.handle(events)
        for (index, (event, outcome)) in zip(events, outcomes).enumerated() {
            switch outcome {
            case .refused(let reason):
                unreadable.append((records[index], reason))
            case .advanced(_, let commands):
                handled.increment()
                commandsWritten.increment(by: commands)
            case .duplicate:
                duplicates.increment()
            case .ignored:
                break
            case .heldBack(let expected):
                versionGaps.increment()
                logger.warning(
                    "event ahead of a gap in its stream held back until the missing events arrive",
                    metadata: ["stream": "\(event.streamID)", "version": "\(event.streamVersion)", "expected": "\(expected)"])
            }
        }
        // After the batch's transaction, so that a retried batch does not send them twice.
        for (record, reason) in unreadable {
            logger.error("event dead-lettered", metadata: ["topic": "\(record.topic)", "offset": "\(record.offset)", "error": "\(reason)"])
            await DeadLetterMessage.deliver(DeadLetterMessage.make(from: record, reason: reason, processor: groupID, topic: deadLetterTopic), with: producer)
        }
        return .handled
    }
}

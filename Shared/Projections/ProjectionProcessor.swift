public import ConsumerRuntime
import EventSourcing
public import EventStore
import Foundation
public import Kafka
public import Logging
import Metrics
public import PostgresNIO
public import ServiceLifecycle
import ServiceSupport

/// Runs a set of projections as one Kafka consumer group on the consumer runtime. Each
/// partition's batch is applied to PostgreSQL with the partition's checkpoint in the same
/// transaction; on assignment a partition starts where PostgreSQL says. Instances of the same
/// processor share the work.
public struct ProjectionProcessor: Service, ConsumerGroupMember {
    public struct Configuration: Sendable {
        /// Also the consumer group id.
        public var name: String
        public var topics: [String]
        public var instanceID: String
        public var bootstrapServers: String
        public var kafkaOverrides: [String: String] = [:]
        /// Records per poll, and the most one partition's transaction applies.
        public var maxBatch = 5_000
        public var pollTimeout: Duration = .milliseconds(100)
        public var retry = RetryPolicy()
        public var deadLetterTopic: String?

        public init(name: String, topics: [String], instanceID: String, bootstrapServers: String, deadLetterTopic: String? = nil) {
            self.name = name
            self.topics = topics
            self.instanceID = instanceID
            self.bootstrapServers = bootstrapServers
            self.deadLetterTopic = deadLetterTopic
        }
    }

    public let runtime: ConsumerRuntime<ProjectionBatchHandler>
    public var status: ConsumerStatus { runtime.status }
    public var groupID: String { runtime.groupID }

    public init(
        configuration: Configuration, projections: [any Projection], client: PostgresClient, producer: KafkaProducer?, logger: Logger,
        status: ConsumerStatus = ConsumerStatus()
    ) {
        var runtimeConfiguration = ConsumerRuntime<ProjectionBatchHandler>.Configuration(
            groupID: configuration.name, topics: configuration.topics, instanceID: configuration.instanceID,
            bootstrapServers: configuration.bootstrapServers)
        runtimeConfiguration.kafkaOverrides = configuration.kafkaOverrides
        runtimeConfiguration.maxBatch = configuration.maxBatch
        runtimeConfiguration.pollTimeout = configuration.pollTimeout
        let handler = ProjectionBatchHandler(
            writer: PartitionBatchWriter(
                processor: configuration.name, instanceID: configuration.instanceID, projections: projections, retry: configuration.retry,
                logger: logger),
            client: client, producer: producer, deadLetterTopic: configuration.deadLetterTopic, logger: logger)
        runtime = ConsumerRuntime(configuration: runtimeConfiguration, handler: handler, logger: logger, status: status)
    }

    public func run() async throws { try await runtime.run() }
}

/// A partition's batch applied in one transaction with its checkpoint (moved by
/// compare-and-set, which fences a stale member); the careful path parks a poison event.
public struct ProjectionBatchHandler: BatchHandler {
    let writer: PartitionBatchWriter
    let client: PostgresClient
    let producer: KafkaProducer?
    let deadLetterTopic: String?
    let logger: Logger
    private let parked = Counter(label: "projection_events_parked_total")
    private let applied = Counter(label: "projection_events_applied_total")

    public var commits: CommitMode { .handlerCheckpoint }

    public func decode(_ record: KafkaConsumedMessage) -> DecodedEvent { DecodedEvent(record) }

    public func handle(_ batch: [Delivery<DecodedEvent>], of partition: KafkaTopicPartition) async throws -> BatchOutcome {
        switch try await write(batch) {
        case .committed(_, let count, _, let parkedEvents):
            applied.increment(by: count)
            if !parkedEvents.isEmpty {
                parked.increment(by: parkedEvents.count)
                await copyToDeadLetterTopic(parkedEvents)
            }
            return .handled
        case .nothingNew:
            return .handled
        case .fenced(let checkpoint):
            return .fenced(restartAt: checkpoint)
        }
    }

    /// The fast path (the batch straight); on an event's failure the careful path, event by
    /// event under savepoints, to find and park the culprit. A deadlock or lock timeout is not
    /// an event's fault: it is thrown, and the runtime retries the batch after a pause.
    private func write(_ batch: [Delivery<DecodedEvent>]) async throws -> PartitionBatchWriter.Outcome {
        do {
            do {
                return try await client.liveTransactionUnwrapped(logger: logger) { try await writer.write(batch, on: $0, careful: false) }
            } catch let error where !(error is PartitionBatchWriter.Fenced) && !DatabaseErrors.isTransient(error) {
                return try await client.liveTransactionUnwrapped(logger: logger) { try await writer.write(batch, on: $0, careful: true) }
            }
        } catch let fenced as PartitionBatchWriter.Fenced {
            return .fenced(checkpoint: fenced.checkpoint)
        }
    }

    private func copyToDeadLetterTopic(_ events: [PartitionBatchWriter.ParkedEvent]) async {
        guard let producer, let topic = deadLetterTopic else { return }
        let messages = events.map { DeadLetterMessage.make(from: $0.record, reason: $0.reason, processor: writer.processor, topic: topic) }
        for result in await producer.send(messages) {
            if case .failure(let error) = result {
                // The dead letter is safe in PostgreSQL; the topic copy is for other tools.
                logger.warning("dead letter not copied to Kafka", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Each partition starts at its PostgreSQL checkpoint (the beginning when there is none);
    /// PostgreSQL, not the Kafka group, is the source of truth.
    public func startPositions(for partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] {
        var positions: [KafkaTopicPartition: Int64] = [:]
        for row in try await client.liveQuery(
            """
            SELECT c.topic, c.partition, c.next_offset FROM read_models.checkpoints c
            JOIN unnest(\(partitions.map(\.topic))::text[], \(partitions.map(\.partition))::int4[]) AS p(topic, partition)
              ON p.topic = c.topic AND p.partition = c.partition
            WHERE c.processor = \(writer.processor)
            """, logger: logger
        ) {
            let (topic, partition, next) = try row.decode((String, Int32, Int64).self)
            positions[KafkaTopicPartition(topic: topic, partition: partition)] = next
        }
        return positions
    }
}

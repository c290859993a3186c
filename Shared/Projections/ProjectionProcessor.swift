import EventSourcing
import EventStore
import Foundation
public import Kafka
public import Logging
import Metrics
import ServiceSupport
public import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// Runs a set of projections as one Kafka consumer group. Each partition's batch is applied
/// to PostgreSQL with the partition's checkpoint in the same transaction; on assignment the
/// consumer starts where PostgreSQL says. Instances of the same processor share the work.
public struct ProjectionProcessor: Service {
    public struct Configuration: Sendable {
        /// Also the consumer group id.
        public var name: String
        public var topics: [String]
        public var instanceID: String
        public var bootstrapServers: String
        public var kafkaOverrides: [String: String] = [:]
        public var maxBatch = 500
        public var pollTimeout: Duration = .milliseconds(100)
        public var retry = RetryPolicy()
        public var deadLetterTopic: String? = "checkout.deadletter"

        public init(name: String, topics: [String], instanceID: String, bootstrapServers: String) {
            self.name = name
            self.topics = topics
            self.instanceID = instanceID
            self.bootstrapServers = bootstrapServers
        }
    }

    let configuration: Configuration
    let projections: [any Projection]
    let client: PostgresClient
    let producer: KafkaProducer?
    let logger: Logger
    public let status: ProcessorStatus
    private let applied = Counter(label: "projection_events_applied_total")
    private let parked = Counter(label: "projection_events_parked_total")

    public init(
        configuration: Configuration, projections: [any Projection], client: PostgresClient, producer: KafkaProducer?, logger: Logger,
        status: ProcessorStatus = ProcessorStatus()
    ) {
        self.configuration = configuration
        self.projections = projections
        self.client = client
        self.producer = producer
        self.logger = logger
        self.status = status
    }

    public func run() async throws {
        let writer = PartitionBatchWriter(
            processor: configuration.name, instanceID: configuration.instanceID, projections: projections,
            retry: configuration.retry, logger: logger)
        let first = try makeConsumer()
        status.setState("running")
        let last = await cancelWhenGracefulShutdown { await consume(from: first, writer: writer) }
        status.setState("stopped")
        await (last ?? first).close()
        status.detach()
    }

    /// The poll-apply loop; returns the consumer in use when it stops (nil if it was closed).
    private func consume(from initial: KafkaConsumer, writer: PartitionBatchWriter) async -> KafkaConsumer? {
        var consumer = initial
        while !Task.isCancelled {
            do {
                if status.takeLostAssignment() {
                    // The session expired (this process was paused or cut off): others own our
                    // partitions now, and any batch we had in flight was fenced. Start over as a
                    // fresh member, so nothing of the old member's fetch state survives.
                    logger.warning("assignment lost; rejoining the group with a new consumer")
                    await consumer.close()
                    consumer = try makeConsumer()
                }
                let records = try await consumer.poll(maxMessages: configuration.maxBatch, timeout: configuration.pollTimeout)
                guard !records.isEmpty else { continue }
                try await process(records, writer: writer, consumer: consumer)
            } catch let error as KafkaError where error.code == .offsetOutOfRange {
                // The checkpoint fell behind the log start: never skip; stop and report.
                status.setState("stalled: \(error)")
                logger.critical("projection checkpoint is behind the Kafka log start; rebuild from the event store", metadata: ["error": "\(error)"])
                try? await gracefulShutdown()
                return consumer
            } catch is CancellationError {
                return consumer
            } catch {
                logger.error("projection batch failed; retrying", metadata: ["error": "\(DatabaseErrors.describe(error))"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        return consumer
    }

    private func makeConsumer() throws -> KafkaConsumer {
        var overrides = configuration.kafkaOverrides
        overrides["client.id"] = configuration.instanceID
        let consumer = try KafkaConsumer(
            configuration: .consumer(bootstrapServers: configuration.bootstrapServers, groupID: configuration.name, overrides: overrides),
            topics: configuration.topics, rebalance: rebalanceHandler(), logger: logger)
        status.attach(consumer)
        return consumer
    }

    /// Partitions of a poll are applied concurrently (each in its own transaction); records of
    /// one partition in order.
    private func process(_ records: [KafkaConsumedMessage], writer: PartitionBatchWriter, consumer: KafkaConsumer) async throws {
        var byPartition: [KafkaTopicPartition: [KafkaConsumedMessage]] = [:]
        for record in records { byPartition[record.topicPartition, default: []].append(record) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (partition, batch) in byPartition {
                group.addTask { try await processPartition(partition, batch, writer: writer, consumer: consumer) }
            }
            try await group.waitForAll()
        }
    }

    private func processPartition(
        _ partition: KafkaTopicPartition, _ batch: [KafkaConsumedMessage], writer: PartitionBatchWriter, consumer: KafkaConsumer
    ) async throws {
        let outcome: PartitionBatchWriter.Outcome
        do {
            outcome = try await write(batch, writer: writer)
        } catch where DatabaseErrors.isTransient(error) {
            // Deadlock or lock timeout with another partition's transaction (projections that
            // share rows across partitions): nothing was written; read the batch again after a
            // short random pause, so the two transactions do not meet again.
            logger.info("batch hit a lock conflict; retrying it", metadata: ["partition": "\(partition)", "error": "\(DatabaseErrors.describe(error))"])
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...200)))
            if let first = batch.first { try? await consumer.seek([partition: first.offset]) }
            return
        }
        switch outcome {
        case .committed(let next, let count, _, let parkedEvents):
            applied.increment(by: count)
            status.recordCheckpoint(partition, next: next)
            if let high = consumer.cachedWatermarks(partition)?.high {
                Gauge(label: "projection_lag", dimensions: [("topic", partition.topic), ("partition", "\(partition.partition)")])
                    .record(max(0, high - next))
            }
            if !parkedEvents.isEmpty {
                parked.increment(by: parkedEvents.count)
                await copyToDeadLetterTopic(parkedEvents)
            }
        case .nothingNew:
            break
        case .fenced(let checkpoint):
            logger.warning(
                "checkpoint moved by another instance; re-reading from it",
                metadata: ["partition": "\(partition)", "checkpoint": "\(checkpoint)"])
            try? await consumer.seek([partition: checkpoint])
        }
    }

    /// The fast path (the batch straight); on an event's failure the careful path, event by
    /// event under savepoints, to find and park the culprit.
    private func write(_ batch: [KafkaConsumedMessage], writer: PartitionBatchWriter) async throws -> PartitionBatchWriter.Outcome {
        do {
            do {
                return try await transaction { try await writer.write(batch, on: $0, careful: false) }
            } catch let error where !(error is PartitionBatchWriter.Fenced) && !DatabaseErrors.isTransient(error) {
                return try await transaction { try await writer.write(batch, on: $0, careful: true) }
            }
        } catch let fenced as PartitionBatchWriter.Fenced {
            return .fenced(checkpoint: fenced.checkpoint)
        }
    }

    /// One batch transaction, abandoned after 45 s (past the 30 s lock timeout).
    private func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await client.guardedTransaction(logger: logger, body)
    }

    private func copyToDeadLetterTopic(_ events: [PartitionBatchWriter.ParkedEvent]) async {
        guard let producer, let topic = configuration.deadLetterTopic else { return }
        let messages = events.map { DeadLetterMessage.make(from: $0.record, reason: $0.reason, processor: configuration.name, topic: topic) }
        for result in await producer.send(messages) {
            if case .failure(let error) = result {
                // The dead letter is safe in PostgreSQL; the topic copy is for other tools.
                logger.warning("dead letter not copied to Kafka", metadata: ["error": "\(error)"])
            }
        }
    }

    /// On assignment, start each partition at its PostgreSQL checkpoint (the beginning when
    /// there is none); PostgreSQL, not the Kafka group, is the source of truth.
    private func rebalanceHandler() -> KafkaRebalanceHandler {
        let client = self.client
        let logger = self.logger
        let name = configuration.name
        let status = self.status
        return KafkaRebalanceHandler(
            partitionsAssigned: { partitions in
                var delay = Duration.milliseconds(100)
                while true {
                    do {
                        let positions = try await Self.checkpoints(for: partitions, processor: name, client: client, logger: logger)
                        status.assigned(partitions, checkpoints: positions)
                        return Dictionary(uniqueKeysWithValues: partitions.map { ($0, positions[$0].map { .offset($0) } ?? .beginning) })
                    } catch {
                        logger.error("cannot load checkpoints; retrying", metadata: ["error": "\(error)"])
                        try? await Task.sleep(for: delay)
                        delay = min(delay * 2, .seconds(5))
                    }
                }
            },
            partitionsRevoked: { partitions, lost in status.revoked(partitions, lost: lost) })
    }

    static func checkpoints(
        for partitions: [KafkaTopicPartition], processor: String, client: PostgresClient, logger: Logger
    ) async throws -> [KafkaTopicPartition: Int64] {
        var positions: [KafkaTopicPartition: Int64] = [:]
        let topics = partitions.map(\.topic)
        let numbers = partitions.map(\.partition)
        for row in try await client.query(
            """
            SELECT c.topic, c.partition, c.next_offset FROM read_models.checkpoints c
            JOIN unnest(\(topics)::text[], \(numbers)::int4[]) AS p(topic, partition) ON p.topic = c.topic AND p.partition = c.partition
            WHERE c.processor = \(processor)
            """, logger: logger
        ).collect() {
            let (topic, partition, next) = try row.decode((String, Int32, Int64).self)
            positions[KafkaTopicPartition(topic: topic, partition: partition)] = next
        }
        return positions
    }
}

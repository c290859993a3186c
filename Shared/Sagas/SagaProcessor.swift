public import EventSourcing
import EventStore
import Foundation
public import Kafka
public import Logging
import Metrics
public import ServiceLifecycle
import ServiceSupport

/// Feeds a saga definition the events of its topics, as one Kafka consumer group: records of a
/// partition in order, partitions concurrently. Offsets are committed after the batch, so a
/// crash redelivers and the stream's arrival position makes that harmless. Several orchestrators
/// may run; an instance's row lock lets one advance it at a time.
public struct SagaProcessor<Definition: SagaDefinition>: Service {
    public struct Configuration: Sendable {
        public var groupID: String
        public var topics: [String]
        public var instanceID: String
        public var bootstrapServers: String
        public var maxBatch = 500

        public init(groupID: String, topics: [String], instanceID: String, bootstrapServers: String) {
            self.groupID = groupID
            self.topics = topics
            self.instanceID = instanceID
            self.bootstrapServers = bootstrapServers
        }
    }

    let configuration: Configuration
    let store: SagaStore<Definition>
    let producer: KafkaProducer
    let logger: Logger
    private let handled = Counter(label: "saga_events_handled_total")
    private let versionGaps = Counter(label: "saga_version_gaps_total")
    private let duplicates = Counter(label: "saga_events_duplicate_total")
    private let commandsWritten = Counter(label: "saga_commands_written_total")

    public init(configuration: Configuration, store: SagaStore<Definition>, producer: KafkaProducer, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.producer = producer
        self.logger = logger
    }

    public func run() async throws {
        // A new group starts at the earliest retained event: a saga never misses its start.
        let consumer = try KafkaConsumer(
            configuration: .consumer(
                bootstrapServers: configuration.bootstrapServers, groupID: configuration.groupID,
                overrides: ["auto.offset.reset": "earliest", "client.id": configuration.instanceID]),
            topics: configuration.topics, logger: logger)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let batch = try await consumer.poll(maxMessages: configuration.maxBatch, timeout: .milliseconds(200))
                    guard !batch.isEmpty else { continue }
                    await handle(batch)
                    guard !Task.isCancelled else { return }
                    var positions: [KafkaTopicPartition: Int64] = [:]
                    for record in batch { positions[record.topicPartition] = max(positions[record.topicPartition] ?? 0, record.offset + 1) }
                    try await consumer.commit(positions)
                } catch {
                    logger.error("saga consumer error", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
        }
        await consumer.close()
    }

    private func handle(_ batch: [KafkaConsumedMessage]) async {
        var byPartition: [KafkaTopicPartition: [KafkaConsumedMessage]] = [:]
        for record in batch { byPartition[record.topicPartition, default: []].append(record) }
        await withTaskGroup(of: Void.self) { group in
            for records in byPartition.values {
                group.addTask {
                    for record in records {
                        guard !Task.isCancelled else { return }
                        await handle(record)
                    }
                }
            }
        }
    }

    /// Handles one record until it is done; infrastructure failures are retried with backoff,
    /// never skipped. A record that is not a readable event goes to the dead-letter topic.
    private func handle(_ record: KafkaConsumedMessage) async {
        let event: RecordedEvent
        do {
            event = try EventKafkaMapping.event(from: record)
        } catch {
            logger.error("unreadable event dead-lettered", metadata: ["topic": "\(record.topic)", "offset": "\(record.offset)", "error": "\(error)"])
            let letter = DeadLetterMessage.make(from: record, reason: "unreadable event: \(error)", processor: configuration.groupID)
            await DeadLetterMessage.deliver(letter, with: producer)
            return
        }
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                switch try await store.handle(event) {
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
                return
            } catch {
                logger.error("saga step failed; retrying", metadata: ["event": "\(event.eventID)", "error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}

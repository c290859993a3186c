public import ConsumerRuntime
public import EventSourcing
public import EventStore
import Foundation
import Instrumentation
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
public struct SagaProcessor<Definition: SagaDefinition>: Service, ConsumerGroupMember {
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
    public var status: ConsumerStatus { runtime.status }
    public var groupID: String { runtime.groupID }

    public init(configuration: Configuration, store: SagaStore<Definition>, producer: KafkaProducer, logger: Logger) {
        var runtimeConfiguration = ConsumerRuntime<SagaBatchHandler<Definition>>.Configuration(
            groupID: configuration.groupID, topics: configuration.topics, instanceID: configuration.instanceID,
            bootstrapServers: configuration.bootstrapServers)
        // A new group starts at the earliest retained event: a saga never misses its start.
        runtimeConfiguration.kafkaOverrides = ["auto.offset.reset": "earliest"]
        runtimeConfiguration.maxBatch = configuration.maxBatch
        var store = store
        store.deadLetters = SagaDeadLetterRoute(topic: configuration.deadLetterTopic, processor: configuration.groupID)
        runtime = ConsumerRuntime(
            configuration: runtimeConfiguration,
            handler: SagaBatchHandler(
                store: store, producer: producer, groupID: configuration.groupID, deadLetterTopic: configuration.deadLetterTopic, logger: logger), logger: logger)
    }

    public func run() async throws { try await runtime.run() }
}

/// A partition's events handed to the saga store as one batch; a record that is not a readable
/// event, or an event PostgreSQL refuses to store, goes to the dead-letter topic. An event the
/// saga definition refuses is kept with its instance by the store (see `SagaStore.Outcome`).
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
    private let refusedByDatabase = Counter(label: "saga_events_refused_by_database_total")
    private let refused = Counter(label: "saga_events_refused_total")
    private let heldBehindRefused = Counter(label: "saga_events_held_behind_refused_total")

    public var commits: CommitMode { .kafkaOffsets }

    public func decode(_ record: KafkaConsumedMessage) -> DecodedEvent { DecodedEvent(record) }

    public func handle(_ batch: [Delivery<DecodedEvent>], of partition: KafkaTopicPartition) async throws -> BatchOutcome {
        var events: [RecordedEvent] = []
        var records: [KafkaConsumedMessage] = []
        var traces: [InstrumentationContext] = []
        var unreadable: [(KafkaConsumedMessage, String)] = []
        for delivery in batch {
            switch delivery.item {
            case .event(let event):
                events.append(event)
                records.append(delivery.record)
                traces.append(delivery.trace)
            case .unreadable(let reason): unreadable.append((delivery.record, "unreadable event: \(reason)"))
            }
        }
        let outcomes = try await handleIsolatingDataErrors(Array(zip(events, zip(records, traces)).map { ($0, $1.0, $1.1) })[...])
        for (index, (event, outcome)) in zip(events, outcomes).enumerated() {
            switch outcome {
            case .refused(let reason):
                // Kept with its failed instance; the store wrote the dead-letter copy with it.
                refused.increment()
                logger.error(
                    "event refused by the saga: kept with its instance and dead-lettered",
                    metadata: MessageContext(of: event).metadata.merging(["topic": "\(records[index].topic)", "offset": "\(records[index].offset)", "error": "\(reason)"]) { $1 })
            case .heldBehindRefused:
                heldBehindRefused.increment()
            case .advanced(let status, let commands):
                handled.increment()
                commandsWritten.increment(by: commands)
                logger.info(
                    "saga advanced",
                    metadata: MessageContext(of: event).metadata.merging(["type": "\(event.type)", "status": "\(status.rawValue)", "commands": "\(commands)"]) { $1 })
            case .duplicate:
                duplicates.increment()
            case .ignored, .none:
                break
            case .heldBack(let expected):
                versionGaps.increment()
                logger.warning(
                    "event ahead of a gap in its stream held back until the missing events arrive",
                    metadata: ["stream": "\(PrintableText.of(event.streamID))", "version": "\(event.streamVersion)", "expected": "\(expected)"])
            }
        }
        // Not events: nothing of them was written, so a crash before the offsets are committed
        // redelivers them and they are copied again.
        for (record, reason) in unreadable {
            logger.error("event dead-lettered", metadata: ["topic": "\(record.topic)", "offset": "\(record.offset)", "error": "\(reason)"])
            await DeadLetterMessage.deliver(DeadLetterMessage.make(from: record, reason: reason, processor: groupID, topic: deadLetterTopic), with: producer)
        }
        return .handled
    }

    /// Hands the events to the store. When PostgreSQL refuses the batch for what it was asked to
    /// write (SQLSTATE class 22 or 54: an id with a NUL byte, a key longer than an index row),
    /// retrying the same statement can never succeed: the batch is split in halves, handled in
    /// sequence, until the event the database refuses is alone. That one is parked (copied to the
    /// dead-letter topic with the database's words; nothing of it was written, so its stream's
    /// later events stay behind it) and the others go on. Nil for a parked event.
    private func handleIsolatingDataErrors(
        _ batch: ArraySlice<(RecordedEvent, KafkaConsumedMessage, InstrumentationContext)>
    ) async throws -> [SagaStore<Definition>.Outcome?] {
        guard !batch.isEmpty else { return [] }
        do {
            return try await store.handle(batch.map(\.0), records: batch.map(\.1), traces: batch.map(\.2))
        } catch let error where DatabaseErrors.isPermanent(sqlState: DatabaseErrors.sqlState(of: error)) {
            if batch.count == 1, let (event, record, _) = batch.first {
                await parkRefusedByDatabase(event, record, error)
                return [nil]
            }
            let middle = batch.startIndex + batch.count / 2
            return try await handleIsolatingDataErrors(batch[..<middle]) + handleIsolatingDataErrors(batch[middle...])
        }
    }

    /// Copies an event PostgreSQL refused to the dead-letter topic: the record as it came (a
    /// Kafka record carries any bytes), the reason in printable words. No database row is
    /// written, so the park cannot fail on the bytes that made the event fail; a crash before
    /// the offset commit redelivers the event, which is refused and parked again.
    private func parkRefusedByDatabase(_ event: RecordedEvent, _ record: KafkaConsumedMessage, _ error: any Error) async {
        refusedByDatabase.increment()
        let reason =
            "saga \(groupID) cannot store \(PrintableText.of(event.type)) from \(PrintableText.of(event.streamID))@\(event.streamVersion): "
            + PrintableText.of(DatabaseErrors.describe(error), limit: 500)
        logger.error("event refused by the database dead-lettered", metadata: ["topic": "\(record.topic)", "offset": "\(record.offset)", "error": "\(reason)"])
        await DeadLetterMessage.deliver(DeadLetterMessage.make(from: record, reason: reason, processor: groupID, topic: deadLetterTopic), with: producer)
    }
}

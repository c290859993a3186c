import EventSourcing
import Foundation
public import Kafka
public import Logging
import Metrics
public import PostgresNIO
public import ServiceLifecycle

/// Publishes committed events from the outbox to Kafka, in commit order per stream, and marks
/// them published only after the broker acknowledged them. At-least-once: a crash between the
/// acknowledgement and the mark publishes those events again (consumers recognise the
/// redelivery by stream version).
///
/// Several instances may run: one holds the relay's advisory lock (on a connection it keeps)
/// and publishes; the others wait for it. A relay never skips an event that committed late
/// with a lower position: it selects unpublished rows, not rows above a cursor.
public struct OutboxRelay: Service {
    public struct Configuration: Sendable {
        public var batchSize = 500
        /// How long to wait before looking again when the outbox was empty.
        public var idleInterval: Duration = .milliseconds(20)
        /// Published rows older than this are deleted.
        public var retention: Duration = .seconds(3_600)
        public var pruneInterval: Duration = .seconds(60)
        /// How often a standby instance tries to take over.
        public var standbyInterval: Duration = .seconds(1)

        public init() {}
    }

    static let lockKey: Int64 = 0x5245_4c41_5900_0001  // "RELAY"

    let client: PostgresClient
    let producer: KafkaProducer
    let logger: Logger
    let configuration: Configuration
    private let published = Counter(label: "outbox_published_total")
    private let publishFailures = Counter(label: "outbox_publish_failures_total")
    private let reordered = Counter(label: "outbox_streams_overtaken_total")

    public init(client: PostgresClient, producer: KafkaProducer, logger: Logger, configuration: Configuration = .init()) {
        self.client = client
        self.producer = producer
        self.logger = logger
        self.configuration = configuration
    }

    public func run() async throws {
        let leadership = AdvisoryLeadership(
            client: client, lockKey: Self.lockKey, role: "outbox relay", standbyInterval: configuration.standbyInterval, logger: logger)
        await cancelWhenGracefulShutdown {
            await leadership.run { connection in try await publish(on: connection) }
        }
    }

    /// Publishes while leading, until cancelled.
    private func publish(on connection: RelayConnection) async throws {
        var lastPrune = ContinuousClock.now - configuration.pruneInterval
        while !Task.isCancelled {
            let count = try await publishBatch(on: connection)
            if ContinuousClock.now - lastPrune >= configuration.pruneInterval {
                try await prune(on: connection)
                lastPrune = .now
            }
            if count < configuration.batchSize { try await Task.sleep(for: configuration.idleInterval) }
        }
    }

    /// One round: read pending rows in position order, publish, mark what was acknowledged.
    /// Returns how many rows it read.
    func publishBatch(on connection: RelayConnection) async throws -> Int {
        let rows = try await connection.run(
            """
            SELECT \(unescaped: PostgresEventStore.eventColumns), o.topic
            FROM event_store.outbox o JOIN event_store.events e ON e.global_position = o.global_position
            WHERE o.published_at IS NULL
            ORDER BY o.global_position
            LIMIT \(configuration.batchSize)
            """)
        guard !rows.isEmpty else { return 0 }
        logger.trace("outbox batch read", metadata: ["rows": "\(rows.count)"])
        var topics: [String] = []
        var events: [RecordedEvent] = []
        for row in rows {
            let (event, topic) = try PostgresEventStore.recordedEventAndText(from: row)
            events.append(event)
            topics.append(topic)
        }
        let results = await producer.send(zip(events, topics).map { EventKafkaMapping.message(for: $0, topic: $1) })
        let acknowledged = Self.acknowledgedInOrder(events: events, results: results)
        let overtaken = Self.overtakenStreams(events: events, results: results)
        if !overtaken.isEmpty {
            // A later event reached Kafka ahead of an earlier one that failed (a delivery timeout
            // can leave such a gap). It stays unmarked and is sent again after the earlier one;
            // consumers hold back an event that arrives ahead of a gap (see the architecture doc).
            reordered.increment(by: overtaken.count)
            logger.warning("events reached Kafka ahead of an earlier event of their stream; copies follow in order", metadata: ["streams": "\(overtaken.prefix(5))"])
        }
        logger.trace("outbox batch sent", metadata: ["acknowledged": "\(acknowledged.count)"])
        if !acknowledged.isEmpty {
            try await connection.run("UPDATE event_store.outbox SET published_at = now() WHERE global_position = ANY(\(acknowledged))")
            published.increment(by: acknowledged.count)
        }
        if acknowledged.count < events.count {
            let failures = results.compactMap { if case .failure(let error) = $0 { error } else { nil } }
            publishFailures.increment(by: events.count - acknowledged.count)
            logger.warning(
                "outbox events not acknowledged; they will be published again",
                metadata: ["count": "\(events.count - acknowledged.count)", "error": "\(failures.first.map { "\($0)" } ?? "")"])
            try await Task.sleep(for: .milliseconds(500))
        }
        return rows.count
    }

    /// Positions safe to mark: per stream, every event before the stream's first failure.
    /// A later event of a stream whose earlier event failed is sent again after it, keeping order.
    static func acknowledgedInOrder(events: [RecordedEvent], results: [Result<KafkaDeliveryReport, KafkaError>]) -> [Int64] {
        acknowledgedInOrder(events.map { (key: $0.streamID, position: $0.globalPosition) }, results: results)
    }

    /// Streams whose earlier event failed while a later one of the same send was acknowledged.
    static func overtakenStreams(events: [RecordedEvent], results: [Result<KafkaDeliveryReport, KafkaError>]) -> [String] {
        var failed: Set<String> = []
        var overtaken: [String] = []
        for (event, result) in zip(events, results) {
            switch result {
            case .failure: failed.insert(event.streamID)
            case .success where failed.contains(event.streamID) && !overtaken.contains(event.streamID): overtaken.append(event.streamID)
            case .success: break
            }
        }
        return overtaken
    }

    /// The same rule for any keyed rows: per key, every row before the key's first failure.
    package static func acknowledgedInOrder(
        _ rows: [(key: String, position: Int64)], results: [Result<KafkaDeliveryReport, KafkaError>]
    ) -> [Int64] {
        var blockedKeys: Set<String> = []
        var positions: [Int64] = []
        for (row, result) in zip(rows, results) {
            guard !blockedKeys.contains(row.key) else { continue }
            switch result {
            case .success: positions.append(row.position)
            case .failure: blockedKeys.insert(row.key)
            }
        }
        return positions
    }

    private func prune(on connection: RelayConnection) async throws {
        let seconds = Int64(configuration.retention.components.seconds)
        try await connection.run(
            """
            DELETE FROM event_store.outbox
            WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => \(seconds))
            """)
    }
}

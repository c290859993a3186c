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

    public init(client: PostgresClient, producer: KafkaProducer, logger: Logger, configuration: Configuration = .init()) {
        self.client = client
        self.producer = producer
        self.logger = logger
        self.configuration = configuration
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in try await lead(on: connection) }
                } catch is CancellationError {
                    return
                } catch {
                    guard !Task.isCancelled else { return }
                    logger.error("outbox relay failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    /// Publishes while holding the lock; returns (to retry later) when another instance has it.
    private func lead(on pooled: PostgresConnection) async throws {
        let connection = RelayConnection(connection: pooled, logger: logger)
        let acquired = try await connection.run("SELECT pg_try_advisory_lock(\(Self.lockKey))").first?.decode(Bool.self) ?? false
        guard acquired else {
            try await Task.sleep(for: configuration.standbyInterval)
            return
        }
        logger.info("outbox relay is publishing")
        defer { logger.info("outbox relay stopped publishing") }
        do {
            var lastPrune = ContinuousClock.now - configuration.pruneInterval
            while !Task.isCancelled {
                let count = try await publishBatch(on: connection)
                if ContinuousClock.now - lastPrune >= configuration.pruneInterval {
                    try await prune(on: connection)
                    lastPrune = .now
                }
                if count < configuration.batchSize { try await Task.sleep(for: configuration.idleInterval) }
            }
        } catch {
            await unlock(connection)
            throw error
        }
        await unlock(connection)
    }

    /// Gives the lock back; a closed connection already released it (and a query on it must
    /// not be attempted: it would never complete).
    private func unlock(_ connection: RelayConnection) async {
        _ = try? await connection.run("SELECT pg_advisory_unlock(\(Self.lockKey))")
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
        var blockedStreams: Set<String> = []
        var positions: [Int64] = []
        for (event, result) in zip(events, results) {
            guard !blockedStreams.contains(event.streamID) else { continue }
            switch result {
            case .success: positions.append(event.globalPosition)
            case .failure: blockedStreams.insert(event.streamID)
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

import EventSourcing
import Foundation
public import Kafka
public import Logging
public import PostgresNIO
public import ServiceLifecycle

/// Publishes committed events from the event store's outbox to Kafka, in commit sequence per
/// stream, and marks them published only after the broker acknowledged them. At-least-once: a
/// crash between the acknowledgement and the mark publishes those events again (consumers
/// recognise the redelivery by stream version). Several instances may run; one leads (see
/// `OutboxPublisher`, which the saga command relay shares).
public struct OutboxRelay: Service {
    public typealias Configuration = OutboxSettings

    /// The name of its `OutboxDoorbell` (rung when an append committed).
    public static let channel = "event_store_outbox"

    let publisher: OutboxPublisher<EventOutbox>

    /// `source` names the CloudEvents source of a stream type's events (`ce_source`).
    public init(
        client: PostgresClient, producer: KafkaProducer, logger: Logger, configuration: Configuration = .init(),
        source: @escaping @Sendable (String) -> String = { $0 }
    ) {
        publisher = OutboxPublisher(source: EventOutbox(source: source), client: client, producer: producer, settings: configuration, logger: logger)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await publisher.run() }
    }
}

/// `event_store.outbox`: each row an event, keyed by its stream.
package struct EventOutbox: OutboxSource {
    let source: @Sendable (String) -> String

    package init(source: @escaping @Sendable (String) -> String = { $0 }) {
        self.source = source
    }

    package var role: String { "outbox relay" }
    package var leaseTable: String { "event_store.relay_lease" }
    package var metricPrefix: String { "outbox" }
    package var channel: String { OutboxRelay.channel }

    /// The pending rows first, then each one's event by its key: a plain join let the planner
    /// merge-join against the events table from its first position (measured: 18 ms per round
    /// at 50,000 events, growing with the store; 1.4 ms this way, whatever its size).
    package func pending(limit: Int, on connection: RelayConnection) async throws -> [OutboxMessage] {
        try await connection.run(
            """
            SELECT \(unescaped: PostgresEventStore.eventColumns), o.topic
            FROM (SELECT global_position, topic FROM event_store.outbox WHERE published_at IS NULL ORDER BY global_position LIMIT \(limit)) o
            CROSS JOIN LATERAL (SELECT * FROM event_store.events WHERE global_position = o.global_position LIMIT 1) e
            ORDER BY o.global_position
            """
        ).map { row in
            let (event, topic) = try PostgresEventStore.recordedEventAndText(from: row)
            return OutboxMessage(
                position: event.globalPosition, key: event.streamID, message: EventKafkaMapping.message(for: event, topic: topic, source: source(event.streamType)),
                writtenAt: event.recordedAt)
        }
    }

    package func markPublished(_ positions: [Int64], landed: [KafkaDeliveryReport], on connection: RelayConnection) async throws {
        try await connection.run("UPDATE event_store.outbox SET published_at = now() WHERE global_position = ANY(\(positions))")
    }

    package func prune(olderThan retention: Duration, on connection: RelayConnection) async throws {
        try await connection.run(
            """
            DELETE FROM event_store.outbox
            WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => \(Int64(retention.components.seconds)))
            """)
    }
}

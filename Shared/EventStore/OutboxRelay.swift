import EventSourcing
import Foundation
public import Kafka
public import Logging
public import PostgresNIO
public import ServiceLifecycle

/// Publishes committed events from the event store's outbox to Kafka, in commit order per
/// stream, and marks them published only after the broker acknowledged them. At-least-once: a
/// crash between the acknowledgement and the mark publishes those events again (consumers
/// recognise the redelivery by stream version). Several instances may run; one leads (see
/// `OutboxPublisher`, which the saga command relay shares).
public struct OutboxRelay: Service {
    public typealias Configuration = OutboxSettings

    /// What `event_store.outbox`'s trigger notifies.
    public static let channel = "event_store_outbox"

    let publisher: OutboxPublisher<EventOutbox>

    public init(client: PostgresClient, producer: KafkaProducer, logger: Logger, configuration: Configuration = .init()) {
        publisher = OutboxPublisher(source: EventOutbox(), client: client, producer: producer, settings: configuration, logger: logger)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await publisher.run() }
    }
}

/// `event_store.outbox`: each row an event, keyed by its stream.
package struct EventOutbox: OutboxSource {
    package var role: String { "outbox relay" }
    package var lockKey: Int64 { 0x5245_4c41_5900_0001 }  // "RELAY"
    package var metricPrefix: String { "outbox" }
    package var channel: String { OutboxRelay.channel }

    package func pending(limit: Int, on connection: RelayConnection) async throws -> [OutboxMessage] {
        try await connection.run(
            """
            SELECT \(unescaped: PostgresEventStore.eventColumns), o.topic
            FROM event_store.outbox o JOIN event_store.events e ON e.global_position = o.global_position
            WHERE o.published_at IS NULL
            ORDER BY o.global_position
            LIMIT \(limit)
            """
        ).map { row in
            let (event, topic) = try PostgresEventStore.recordedEventAndText(from: row)
            return OutboxMessage(
                position: event.globalPosition, key: event.streamID, message: EventKafkaMapping.message(for: event, topic: topic),
                writtenAt: event.recordedAt)
        }
    }

    package func markPublished(_ positions: [Int64], on connection: RelayConnection) async throws {
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

import EventStore
import Foundation
public import Kafka
public import Logging
public import PostgresNIO
public import ServiceLifecycle

/// Publishes the sagas' commands from `sagas.outbox` to Kafka by position, keyed by the
/// target stream, and marks them only after the broker acknowledged them (the event relay's
/// `OutboxPublisher`). At-least-once: a command published again carries the same command id, and
/// the command service executes an id once. One orchestrator publishes at a time; the others
/// stand by.
public struct SagaCommandRelay: Service {
    /// The name of its `OutboxDoorbell` (rung when a saga transaction committed commands).
    public static let channel = "sagas_outbox"

    let publisher: OutboxPublisher<SagaCommandOutbox>

    public init(
        client: PostgresClient, producer: KafkaProducer, logger: Logger, batchSize: Int = 5_000, idleInterval: Duration = .milliseconds(200),
        hold: CommandHold = CommandHold()
    ) {
        var settings = OutboxPublisher<SagaCommandOutbox>.Settings()
        settings.batchSize = batchSize
        settings.idleInterval = idleInterval
        publisher = OutboxPublisher(source: SagaCommandOutbox(hold: hold), client: client, producer: producer, settings: settings, logger: logger)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await publisher.run() }
    }
}

/// `sagas.outbox`: each row a command, keyed by its target stream, or (kind `dead-letter`) the
/// copy of an event the saga refused, for the dead-letter topic.
struct SagaCommandOutbox: OutboxSource {
    let hold: CommandHold

    var role: String { "saga command relay" }
    var leaseTable: String { "sagas.relay_lease" }
    var metricPrefix: String { "saga_commands" }
    var channel: String { SagaCommandRelay.channel }

    func pending(limit: Int, on connection: RelayConnection) async throws -> [OutboxMessage] {
        let heldTypes = Array(hold.heldTypes)
        // Held commands (a drill switch), and every later one with the same key, are left out in
        // SQL, so that however many are held the others still come through.
        let rows = try await connection.run(
            heldTypes.isEmpty
                ? """
                SELECT position, correlation_id, command_id, command_type, topic, key, payload::text, causation_id, created_at, kind, trace_headers::text
                FROM sagas.outbox WHERE published_at IS NULL ORDER BY position LIMIT \(limit)
                """
                : """
                SELECT position, correlation_id, command_id, command_type, topic, key, payload::text, causation_id, created_at, kind, trace_headers::text
                FROM sagas.outbox o WHERE published_at IS NULL
                  AND NOT EXISTS (
                      SELECT 1 FROM sagas.outbox h
                      WHERE h.published_at IS NULL AND h.key = o.key AND h.position <= o.position AND h.command_type = ANY(\(heldTypes)))
                ORDER BY position LIMIT \(limit)
                """)
        return try rows.map { row in
            let (position, correlationID, commandID, type, topic, key, payload, causationID, createdAt, kind, trace) =
                try row.decode((Int64, String, String, String, String, String, String, String?, Date, String, String?).self)
            if kind == "dead-letter" {
                // A refused event's copy: the record as it was consumed, with its dlq-* headers.
                return OutboxMessage(position: position, key: key, message: try StoredKafkaRecord.message(fromText: payload, topic: topic), writtenAt: createdAt)
            }
            var headers = [
                KafkaHeader(key: "ce_id", string: commandID), KafkaHeader(key: "ce_type", string: type),
                KafkaHeader(key: "ce_source", string: "saga-orchestrator"), KafkaHeader(key: "ce_specversion", string: "1.0"),
                KafkaHeader(key: "correlation-id", string: correlationID), KafkaHeader(key: "content-type", string: "application/json"),
            ]
            if let causationID { headers.append(KafkaHeader(key: "causation-id", string: causationID)) }
            // The saga step's trace: the command's execution continues it.
            headers += TraceHeaders.kafkaHeaders(fromStored: TraceHeaders.fromJSONText(trace))
            return OutboxMessage(
                position: position, key: key, message: KafkaOutgoingMessage(topic: topic, key: key, value: Array(payload.utf8), headers: headers),
                writtenAt: createdAt)
        }
    }

    /// Also keeps where each command landed, for the deadline scheduler (`CommandConsumption`).
    func markPublished(_ positions: [Int64], landed: [KafkaDeliveryReport], on connection: RelayConnection) async throws {
        try await connection.run(
            """
            UPDATE sagas.outbox o SET published_at = now(), kafka_partition = l.landed_partition, kafka_offset = l.landed_offset
            FROM unnest(\(positions)::int8[], \(landed.map(\.partition))::int4[], \(landed.map(\.offset))::int8[])
                 AS l(position, landed_partition, landed_offset)
            WHERE o.position = l.position
            """)
    }

    func prune(olderThan retention: Duration, on connection: RelayConnection) async throws {
        try await connection.run(
            """
            DELETE FROM sagas.outbox
            WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => \(Int64(retention.components.seconds)))
            """)
    }
}

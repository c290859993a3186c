import Foundation
import Logging
import PostgresNIO

/// Where a checkout's time goes between its steps, from PostgreSQL's timestamps: for every hop
/// of the phase's checkouts, the median of each leg. An event's hop to the saga: recorded →
/// published by the event relay (`event_store.outbox.published_at`) → the saga's transaction
/// that reacted began (`sagas.outbox.created_at` of the command it sent, caused by that event).
/// A command's hop back: the saga's transaction began → published by the command relay →
/// the event the command service appended for it was recorded (same causation).
struct HopTimes {
    var eventRelayMilliseconds = 0.0
    var eventToSagaMilliseconds = 0.0
    var sagaRelayMilliseconds = 0.0
    var commandToEventMilliseconds = 0.0
    var eventHops = 0
    var commandHops = 0

    var details: [String: String] {
        [
            "hop_event_relay_p50_ms": String(format: "%.1f", eventRelayMilliseconds),
            "hop_event_to_saga_p50_ms": String(format: "%.1f", eventToSagaMilliseconds),
            "hop_saga_relay_p50_ms": String(format: "%.1f", sagaRelayMilliseconds),
            "hop_command_to_event_p50_ms": String(format: "%.1f", commandToEventMilliseconds),
            "hops_measured": "\(eventHops)+\(commandHops)",
        ]
    }

    var line: String {
        "  a hop's median legs: event recorded→relayed \(Self.format(eventRelayMilliseconds)) ms, relayed→saga step began "
            + "\(Self.format(eventToSagaMilliseconds)) ms; saga step began→command relayed \(Self.format(sagaRelayMilliseconds)) ms, "
            + "relayed→its event recorded \(Self.format(commandToEventMilliseconds)) ms (\(eventHops) event hops, \(commandHops) command hops)"
    }

    private static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    static func measure(orders: [String], client: PostgresClient, logger: Logger) async throws -> HopTimes {
        let rows = try await client.query(
            """
            WITH commands AS (
                SELECT created_at, published_at, causation_id FROM sagas.outbox
                WHERE saga = 'checkout' AND correlation_id = ANY(\(orders)) AND published_at IS NOT NULL
                  AND causation_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
            ),
            steps AS (
                SELECT causation_id, min(created_at) AS created_at, min(published_at) AS published_at FROM commands GROUP BY causation_id
            ),
            to_saga AS (
                SELECT extract(epoch FROM o.published_at - e.recorded_at) * 1e3 AS relay, extract(epoch FROM s.created_at - o.published_at) * 1e3 AS onward
                FROM steps s JOIN event_store.events e ON e.event_id = s.causation_id::uuid
                JOIN event_store.outbox o ON o.global_position = e.global_position
                WHERE o.published_at IS NOT NULL
            ),
            to_event AS (
                SELECT extract(epoch FROM s.published_at - s.created_at) * 1e3 AS relay, extract(epoch FROM min(e.recorded_at) - s.published_at) * 1e3 AS onward
                FROM steps s JOIN event_store.events e ON e.causation_id = s.causation_id
                GROUP BY s.causation_id, s.created_at, s.published_at
            )
            SELECT (SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY relay), 0)::float8 FROM to_saga),
                   (SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY onward), 0)::float8 FROM to_saga),
                   (SELECT count(*) FROM to_saga),
                   (SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY relay), 0)::float8 FROM to_event),
                   (SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY onward), 0)::float8 FROM to_event),
                   (SELECT count(*) FROM to_event)
            """, logger: logger
        ).collect()
        var hops = HopTimes()
        if let row = rows.first {
            let columns = try row.decode((Double, Double, Int64, Double, Double, Int64).self)
            (hops.eventRelayMilliseconds, hops.eventToSagaMilliseconds, hops.eventHops) = (columns.0, columns.1, Int(columns.2))
            (hops.sagaRelayMilliseconds, hops.commandToEventMilliseconds, hops.commandHops) = (columns.3, columns.4, Int(columns.5))
        }
        return hops
    }
}

import Foundation
import PostgresNIO

/// A rebuild and its projection's dead letters. A skip is an operator's decision never to apply
/// that event to that projection: the rebuild honours it. A parked letter whose event the rebuild
/// applied is resolved: left parked, it would hold the stream's next live events behind it.
extension ProjectionRebuilder {
    /// The events an operator skipped for this projection.
    func skippedEvents(on connection: PostgresConnection? = nil) async throws -> [UUID] {
        let query: PostgresQuery = """
            SELECT event_id FROM read_models.dead_letters WHERE projection = \(projection.name) AND status = 'skipped'
            """
        let rows: [PostgresRow]
        if let connection {
            rows = try await connection.query(query, logger: logger).collect()
        } else {
            rows = try await client.liveQuery(query, logger: logger)
        }
        return try rows.map { try $0.decode(UUID.self) }
    }

    /// In the swap's transaction, after the stream positions were replaced: every parked letter
    /// of this projection whose event is in the store, of a type it applies, at or below its
    /// stream's new position, was applied by the rebuild.
    func resolveLetters(on connection: PostgresConnection) async throws {
        let resolved = try await connection.query(
            """
            UPDATE read_models.dead_letters d SET status = 'replayed', resolved_at = now(), resolved_by = 'rebuild',
                resolution = 'applied by the rebuild (' || \(owner) || ')', blocked_by = NULL
            WHERE d.projection = \(projection.name) AND d.status = 'parked'
              AND EXISTS (SELECT 1 FROM event_store.events e
                          WHERE e.event_id = d.event_id AND e.stream_id = d.stream_id AND e.event_type = ANY(\(Array(projection.eventTypes))))
              AND d.stream_version <= (SELECT p.version FROM read_models.stream_positions p
                                       WHERE p.projection = d.projection AND p.stream_id = d.stream_id)
            RETURNING d.id
            """, logger: logger
        ).collect().map { try $0.decode(Int64.self) }
        guard !resolved.isEmpty else { return }
        // Letters still parked no longer wait behind a resolved one.
        _ = try await connection.query(
            "UPDATE read_models.dead_letters SET blocked_by = NULL WHERE blocked_by = ANY(\(resolved)) AND status = 'parked'", logger: logger
        ).collect()
        logger.info("dead letters applied by the rebuild resolved", metadata: ["projection": "\(projection.name)", "letters": "\(resolved.count)"])
    }
}

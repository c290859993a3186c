import EventSourcing
import Logging
import PostgresNIO

/// `sagas.parked_events`: the events kept with a failed instance (a refused one and those that
/// arrived behind it), for the operator's retry.
enum ParkedEvents {
    /// The instance's kept events as they arrived, with their sequence numbers.
    static func read(saga: String, correlationID: String, on connection: PostgresConnection, logger: Logger) async throws -> [(Int64, RecordedEvent)] {
        try await connection.query(
            """
            SELECT seq, event FROM sagas.parked_events WHERE saga = \(saga) AND correlation_id = \(correlationID) ORDER BY seq FOR UPDATE
            """, logger: logger
        ).collect().map { row in
            let (seq, text) = try row.decode((Int64, String).self)
            return (seq, try StoredEvent.event(fromText: text))
        }
    }

    /// Lets go of the events handed over again, up to and including `seq`.
    static func release(saga: String, correlationID: String, through seq: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.query(
            "DELETE FROM sagas.parked_events WHERE saga = \(saga) AND correlation_id = \(correlationID) AND seq <= \(seq)", logger: logger
        ).collect()
    }
}

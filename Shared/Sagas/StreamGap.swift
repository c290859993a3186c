import EventSourcing
import EventStore
import Logging
import PostgresNIO

/// The events a stream is missing between the saga's arrival position and an event ahead of it,
/// as the event store holds them.
enum StreamGap {
    /// The events after `position` and before `event`, by version, or nil when the store
    /// does not hold every one of them. The store's events in the range are counted first: an
    /// event that claims a version far beyond its stream (2^63-1, 2e9) costs one index count,
    /// never an array or a read as long as the versions it skipped.
    static func fill(
        before event: RecordedEvent, after position: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws -> [RecordedEvent]? {
        let wanted = event.streamVersion - position - 1
        guard wanted > 0 else { return [] }
        let held = try await connection.query(
            """
            SELECT count(*)::int8 FROM event_store.events
            WHERE stream_id = \(event.streamID) AND stream_version > \(position) AND stream_version < \(event.streamVersion)
            """, logger: logger
        ).collect().first?.decode(Int64.self)
        guard held == wanted else { return nil }
        let missing = try await PostgresEventStore.events(of: event.streamID, after: position, before: event.streamVersion, on: connection, logger: logger)
        // The versions must be exactly position+1, position+2, ... (compared one by one).
        let complete = missing.count == wanted && missing.enumerated().allSatisfy { $0.element.streamVersion == position + 1 + Int64($0.offset) }
        return complete ? missing : nil
    }
}

public import EventSourcing
public import Foundation
package import PostgresNIO

extension PostgresEventStore {
    package static let eventColumns = """
        e.global_position, e.event_id, e.stream_id, e.stream_type, e.stream_version, e.event_type, e.schema_version,
        e.payload::text, e.metadata::text, e.correlation_id, e.causation_id, e.recorded_at
        """

    /// The stream's events from `version` (inclusive) up to `through` (inclusive, if given).
    public func readStream(_ streamID: String, from version: Int64 = 1, through: Int64? = nil) async throws(EventStoreError) -> [RecordedEvent] {
        let last = through ?? Int64.max
        return try await read(
            """
            SELECT \(unescaped: Self.eventColumns) FROM event_store.events e
            WHERE stream_id = \(streamID) AND stream_version >= \(version) AND stream_version <= \(last)
            ORDER BY stream_version
            """, stream: streamID)
    }

    /// The stream's events recorded at or before `time`: the stream as it was then. Compared at
    /// millisecond precision, the precision the API prints, so an event's own `recordedAt`
    /// includes it.
    public func readStream(_ streamID: String, asOf time: Date) async throws(EventStoreError) -> [RecordedEvent] {
        try await read(
            """
            SELECT \(unescaped: Self.eventColumns) FROM event_store.events e
            WHERE stream_id = \(streamID) AND date_trunc('milliseconds', recorded_at) <= \(time)
            ORDER BY stream_version
            """, stream: streamID)
    }

    /// Events of the global log after `position`, by position, leaving out every event
    /// whose transaction might still be in flight: a transaction that took a lower position
    /// but commits later is read on a later call, never skipped.
    public func readAll(after position: Int64, limit: Int = 1_000) async throws(EventStoreError) -> [RecordedEvent] {
        try await read(
            """
            SELECT \(unescaped: Self.eventColumns) FROM event_store.events e
            WHERE global_position > \(position) AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY global_position LIMIT \(limit)
            """, stream: nil)
    }

    /// The stream's events strictly between two versions, read on a connection the caller holds
    /// (a consumer filling a gap in a stream inside its own transaction; same database).
    package static func events(
        of stream: String, after version: Int64, before upper: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws -> [RecordedEvent] {
        try await connection.query(
            """
            SELECT \(unescaped: eventColumns) FROM event_store.events e
            WHERE e.stream_id = \(stream) AND e.stream_version > \(version) AND e.stream_version < \(upper)
            ORDER BY e.stream_version
            """, logger: logger
        ).collect().map { try recordedEvent(from: $0) }
    }

    /// The stream's current version, or nil if it does not exist.
    public func version(of streamID: String) async throws(EventStoreError) -> Int64? {
        do {
            return try await client.liveQuery("SELECT version FROM event_store.streams WHERE stream_id = \(streamID)", logger: logger).first?.decode(Int64.self)
        } catch {
            throw .database(error, stream: streamID)
        }
    }

    private func read(_ query: PostgresQuery, stream: String?) async throws(EventStoreError) -> [RecordedEvent] {
        let rows: [PostgresRow]
        do {
            rows = try await client.liveQuery(query, logger: logger)
        } catch {
            throw .database(error, stream: stream)
        }
        var events: [RecordedEvent] = []
        events.reserveCapacity(rows.count)
        for row in rows {
            events.append(try Self.recordedEvent(from: row))
        }
        return events
    }

    typealias EventColumns = (Int64, UUID, String, String, Int64, String, Int32, String, String, String, String?, Date)

    package static func recordedEvent(from row: PostgresRow) throws(EventStoreError) -> RecordedEvent {
        do {
            return recordedEvent(try row.decode(EventColumns.self))
        } catch {
            throw EventStoreError(code: .corruptEvent, reason: "cannot read event row: \(error)")
        }
    }

    /// For queries that select the event columns followed by one text column.
    package static func recordedEventAndText(from row: PostgresRow) throws(EventStoreError) -> (RecordedEvent, String) {
        do {
            let c = try row.decode((Int64, UUID, String, String, Int64, String, Int32, String, String, String, String?, Date, String).self)
            return (recordedEvent((c.0, c.1, c.2, c.3, c.4, c.5, c.6, c.7, c.8, c.9, c.10, c.11)), c.12)
        } catch {
            throw EventStoreError(code: .corruptEvent, reason: "cannot read event row: \(error)")
        }
    }

    private static func recordedEvent(_ columns: EventColumns) -> RecordedEvent {
        let (position, id, streamID, streamType, version, type, schema, payload, metadata, correlation, causation, recordedAt) = columns
        let decodedMetadata = (try? JSONDecoder().decode([String: String].self, from: Data(metadata.utf8))) ?? [:]
        return RecordedEvent(
            eventID: id, streamID: streamID, streamType: streamType, streamVersion: version, globalPosition: position,
            type: type, schemaVersion: Int(schema), recordedAt: recordedAt, correlationID: correlation,
            causationID: causation, metadata: decodedMetadata, payload: Array(payload.utf8))
    }
}

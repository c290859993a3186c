import Foundation
import PostgresNIO

/// A stream's folded state at a version, so loading a long stream reads only its tail.
public struct Snapshot: Sendable {
    public var version: Int64
    public var stateSchema: Int
    public var state: [UInt8]
}

extension PostgresEventStore {
    public func loadSnapshot(of streamID: String) async throws(EventStoreError) -> Snapshot? {
        do {
            let rows = try await client.liveQuery(
                "SELECT version, state_schema, state::text FROM event_store.snapshots WHERE stream_id = \(streamID)", logger: logger
            )
            guard let row = rows.first else { return nil }
            let (version, schema, state) = try row.decode((Int64, Int32, String).self)
            return Snapshot(version: version, stateSchema: Int(schema), state: Array(state.utf8))
        } catch {
            throw .database(error, stream: streamID)
        }
    }

    /// Keeps the newest snapshot per stream; an older one never overwrites a newer one.
    public func saveSnapshot(_ snapshot: Snapshot, streamID: String, streamType: String) async throws(EventStoreError) {
        let state = String(decoding: snapshot.state, as: UTF8.self)
        do {
            _ = try await client.liveQuery(
                """
                INSERT INTO event_store.snapshots (stream_id, stream_type, version, state_schema, state)
                VALUES (\(streamID), \(streamType), \(snapshot.version), \(Int32(snapshot.stateSchema)), \(state)::jsonb)
                ON CONFLICT (stream_id) DO UPDATE
                SET version = EXCLUDED.version, state_schema = EXCLUDED.state_schema, state = EXCLUDED.state, taken_at = now()
                WHERE event_store.snapshots.version < EXCLUDED.version
                """, logger: logger
            )
        } catch {
            throw .database(error, stream: streamID)
        }
    }
}

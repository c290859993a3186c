import EventSourcing
public import EventStore
import Foundation
public import Logging
import PostgresNIO

/// Rebuilds a projection from the event store's global log into shadow tables while the live
/// tables keep serving reads and the live processor keeps applying, then swaps them in one
/// transaction. Per-stream versions make the hand-over exact: streams the live side applied
/// further are caught up from the store before the swap; streams the rebuild applied further
/// are skipped by the live side afterwards. Reads the store, not Kafka (whose retention is finite).
public struct ProjectionRebuilder: Sendable {
    public let projection: any Projection
    public let store: PostgresEventStore
    public let logger: Logger
    public var chunk = 1_000
    /// Runs after the shadow caught up with the log and before the swap: the window in which
    /// the live side moves ahead of the shadow. Tests use it to widen that window on purpose.
    public var beforeSwap: @Sendable () async throws -> Void = {}

    static let suffix = "__rebuild"

    public init(projection: any Projection, store: PostgresEventStore, logger: Logger) {
        self.projection = projection
        self.store = store
        self.logger = logger
    }

    var client: PostgresClient { store.client }
    var shadowName: String { "\(projection.name)#rebuild" }

    public struct Report: Sendable, Codable {
        public var projection: String
        public var eventsApplied: Int64
        public var caughtUpStreams: Int
        public var position: Int64
    }

    public func rebuild() async throws -> Report {
        try await prepare()
        var position: Int64 = 0
        var applied: Int64 = 0
        while true {
            let events = try await store.readAll(after: position, limit: chunk)
            guard let last = events.last else { break }
            let count = try await client.withTransaction(logger: logger) { connection in
                try await applyToShadow(events, on: connection)
            }
            applied += Int64(count)
            position = last.globalPosition
            _ = try await client.query(
                "UPDATE read_models.rebuilds SET position = \(position), events_applied = \(applied) WHERE projection = \(projection.name)",
                logger: logger
            ).collect()
        }
        try await beforeSwap()
        let caughtUp = try await swap(after: position)
        try await dropRetired()
        _ = try await client.query(
            "UPDATE read_models.rebuilds SET status = 'swapped', finished_at = now(), events_applied = \(applied) WHERE projection = \(projection.name)",
            logger: logger
        ).collect()
        logger.info("projection rebuilt and swapped", metadata: ["projection": "\(projection.name)", "events": "\(applied)"])
        return Report(projection: projection.name, eventsApplied: applied, caughtUpStreams: caughtUp, position: position)
    }

    private func prepare() async throws {
        try await client.withTransaction(logger: logger) { connection in
            _ = try await connection.query(
                """
                INSERT INTO read_models.rebuilds (projection, status) VALUES (\(projection.name), 'running')
                ON CONFLICT (projection) DO UPDATE SET status = 'running', position = 0, events_applied = 0, started_at = now(),
                    finished_at = NULL, error = NULL
                """, logger: logger
            ).collect()
            _ = try await connection.query("DELETE FROM read_models.stream_positions WHERE projection = \(shadowName)", logger: logger).collect()
            for table in projection.tables {
                _ = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            DROP TABLE IF EXISTS read_models.\(table)\(Self.suffix);
                            """), logger: logger
                ).collect()
                _ = try await connection.query(
                    PostgresQuery(unsafeSQL: "CREATE TABLE read_models.\(table)\(Self.suffix) (LIKE read_models.\(table) INCLUDING ALL)"), logger: logger
                ).collect()
            }
        }
    }

    /// Applies events (in position order) to the shadow tables, tracking shadow stream versions.
    private func applyToShadow(_ events: [RecordedEvent], on connection: PostgresConnection) async throws -> Int {
        let target = ProjectionTarget(connection: connection, logger: logger, tableSuffix: Self.suffix)
        var versions: [String: Int64] = [:]
        let streams = Array(Set(events.map(\.streamID)))
        for row in try await connection.query(
            "SELECT stream_id, version FROM read_models.stream_positions WHERE projection = \(shadowName) AND stream_id = ANY(\(streams))",
            logger: logger
        ).collect() {
            let (stream, version) = try row.decode((String, Int64).self)
            versions[stream] = version
        }
        var applied = 0
        var changed: Set<String> = []
        for event in events where projection.eventTypes.contains(event.type) {
            guard event.streamVersion > versions[event.streamID] ?? 0 else { continue }
            try await projection.apply(event, to: target)
            versions[event.streamID] = event.streamVersion
            changed.insert(event.streamID)
            applied += 1
        }
        if !changed.isEmpty {
            let ids = Array(changed)
            let values = ids.map { versions[$0] ?? 0 }
            _ = try await connection.query(
                """
                INSERT INTO read_models.stream_positions (projection, stream_id, version)
                SELECT \(shadowName), * FROM unnest(\(ids)::text[], \(values)::int8[])
                ON CONFLICT (projection, stream_id) DO UPDATE SET version = EXCLUDED.version
                """, logger: logger
            ).collect()
        }
        return applied
    }

    /// One transaction: hold live writers (readers go on), catch the shadow up with everything
    /// the store has beyond the rebuild's position and every stream the live side applied
    /// further, then rename shadow tables in and move the stream versions over.
    private func swap(after position: Int64) async throws -> Int {
        try await client.withTransaction(logger: logger) { connection in
            // Live batches take checkpoint row locks first: this makes them wait at their start.
            _ = try await connection.query("LOCK TABLE read_models.checkpoints IN EXCLUSIVE MODE", logger: logger).collect()
            var tail = position
            while true {
                let events = try await readAll(after: tail, on: connection)
                guard let last = events.last else { break }
                _ = try await applyToShadow(events, on: connection)
                tail = last.globalPosition
            }
            let behind = try await connection.query(
                """
                SELECT l.stream_id, coalesce(s.version, 0), l.version FROM read_models.stream_positions l
                LEFT JOIN read_models.stream_positions s ON s.projection = \(shadowName) AND s.stream_id = l.stream_id
                WHERE l.projection = \(projection.name) AND l.version > coalesce(s.version, 0)
                """, logger: logger
            ).collect().map { try $0.decode((String, Int64, Int64).self) }
            for (stream, from, through) in behind {
                let events = try await store.readStream(stream, from: from + 1, through: through)
                _ = try await applyToShadow(events, on: connection)
            }
            for table in projection.tables {
                _ = try await connection.query(
                    PostgresQuery(unsafeSQL: "ALTER TABLE read_models.\(table) RENAME TO \(table)__retired"), logger: logger).collect()
                _ = try await connection.query(
                    PostgresQuery(unsafeSQL: "ALTER TABLE read_models.\(table)\(Self.suffix) RENAME TO \(table)"), logger: logger).collect()
            }
            _ = try await connection.query("DELETE FROM read_models.stream_positions WHERE projection = \(projection.name)", logger: logger).collect()
            _ = try await connection.query(
                "UPDATE read_models.stream_positions SET projection = \(projection.name) WHERE projection = \(shadowName)", logger: logger
            ).collect()
            return behind.count
        }
    }

    /// The global log read inside the swap transaction (the store's own read uses the pool).
    private func readAll(after position: Int64, on connection: PostgresConnection) async throws -> [RecordedEvent] {
        try await connection.query(
            """
            SELECT \(unescaped: PostgresEventStore.eventColumns) FROM event_store.events e
            WHERE e.global_position > \(position) ORDER BY e.global_position LIMIT 1000
            """, logger: logger
        ).collect().map { try PostgresEventStore.recordedEvent(from: $0) }
    }

    /// Old tables are dropped after the swap committed, in their own transaction: a query that
    /// was waiting on them during the swap finishes first.
    private func dropRetired() async throws {
        for table in projection.tables {
            _ = try await client.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS read_models.\(table)__retired"), logger: logger).collect()
        }
    }
}

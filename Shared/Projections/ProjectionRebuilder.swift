import EventSourcing
public import EventStore
import Foundation
public import Logging
import PostgresNIO

/// Rebuilds a projection from the event store into shadow tables while the live tables keep
/// serving reads and the live processor keeps applying, then swaps them in one transaction.
///
/// The load is one streamed read of the store (only the projection's event types and the
/// columns a projection uses), cut into chunks that are applied while the next chunk streams
/// in; the shadow tables have only their unique indexes during the load (insert-heavy read
/// models `COPY` into them), the others are built afterwards; the streams' positions are
/// computed by one `GROUP BY` over the same events into an unlogged table and replace the
/// projection's inside the swap transaction (no per-stream state in memory, however many
/// streams there are). Per-stream versions make the hand-over
/// exact: streams the live side applied further are caught up from the store before the swap;
/// streams the rebuild applied further are skipped by the live side afterwards. Reads the
/// store, not Kafka (whose retention is finite).
public struct ProjectionRebuilder: Sendable {
    public let projection: any Projection
    public let store: PostgresEventStore
    public let logger: Logger
    public var chunk = 5_000
    /// Runs after the shadow caught up with the log and before the swap: the window in which
    /// the live side moves ahead of the shadow. Tests use it to widen that window on purpose.
    public var beforeSwap: @Sendable () async throws -> Void = {}
    /// Runs after each chunk of the load is written (its number, from 1): tests use it to take
    /// the claim away between two chunks, as a successor does from a paused rebuild.
    public var afterChunk: @Sendable (Int) async throws -> Void = { _ in }
    /// Who runs this rebuild (instance and run), recorded in its claim on the projection.
    /// (The host name is left out: resolving it can block; the service sets its instance id.)
    public var owner = "\(ProcessInfo.processInfo.processName) pid \(ProcessInfo.processInfo.processIdentifier) run \(UUID().uuidString.prefix(8).lowercased())"
    /// A claim whose owner has not beaten for this long is taken as crashed: another rebuild
    /// may take it over (the old one then cannot swap).
    public var claimExpiry: Duration = .seconds(60)

    /// The shadow tables' suffix: `__rebuild`, or `__verify` for `differences()`.
    var suffix = "__rebuild"
    /// Whether `read_models.rebuilds` records this run (not for `differences()`).
    var recordsProgress = true

    public init(projection: any Projection, store: PostgresEventStore, logger: Logger) {
        self.projection = projection
        self.store = store
        self.logger = logger
    }

    var client: PostgresClient { store.client }

    public struct Report: Sendable, Codable {
        public var projection: String
        public var eventsApplied: Int64
        public var caughtUpStreams: Int
        public var position: Int64
    }

    /// Claims the projection (`RebuildInProgress` when another rebuild holds it), then rebuilds.
    public func rebuild() async throws -> Report {
        try await claim()
        return try await runClaimed()
    }

    /// Claims the projection for this rebuild now; `runClaimed()` then does the work (the
    /// admin route answers the claim at once and rebuilds in the background).
    public func claimProjection() async throws { try await claim() }

    /// The rebuild under a claim already taken with `claimProjection()`; a failure is recorded
    /// on the claim (status `failed`) and thrown.
    public func runClaimed() async throws -> Report {
        let beating = heartbeat()
        defer { beating.cancel() }
        do {
            return try await work()
        } catch {
            await recordFailure(error)
            throw error
        }
    }

    private func work() async throws -> Report {
        let deferredIndexes = try await prepare()
        let head = try await visibleHead()
        let applied = try await load(through: head, skipping: try await skippedEvents())
        try await computePositions(through: head)
        for statement in deferredIndexes {
            try await underClaim { connection in _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect() }
        }
        for table in projection.tables {
            _ = try await client.liveQuery(PostgresQuery(unsafeSQL: "ANALYZE read_models.\(table)\(suffix)"), logger: logger)
        }
        try await beforeSwap()
        let caughtUp = try await swap(after: head)
        try await dropRetired()
        _ = try await client.liveQuery(
            """
            UPDATE read_models.rebuilds SET status = 'swapped', finished_at = now(), events_applied = \(applied)
            WHERE projection = \(projection.name) AND owner = \(owner)
            """,
            logger: logger
        )
        logger.info("projection rebuilt and swapped", metadata: ["projection": "\(projection.name)", "events": "\(applied)"])
        return Report(projection: projection.name, eventsApplied: applied, caughtUpStreams: caughtUp, position: head)
    }

    /// A table of the live model and how it differs from a fresh build.
    public struct TableDifference: Sendable {
        public var table: String
        /// Rows in one but not the other (counted on both sides).
        public var rows: Int64
        /// A few of them, as JSON, marked `live` or `fresh`.
        public var sample: [String]
    }

    /// Builds the projection afresh from the event store into `<table>__verify` tables (never
    /// swapped in, dropped afterwards) and compares them with the live tables row by row. Exact
    /// only when the live side has applied everything (a settled system): the invariant checker
    /// uses it.
    public func differences() async throws -> [TableDifference] {
        var fresh = self
        fresh.suffix = "__verify"
        fresh.recordsProgress = false
        _ = try await fresh.prepare()
        _ = try await fresh.load(through: try await visibleHead(), skipping: try await skippedEvents())
        var differences: [TableDifference] = []
        for table in projection.tables {
            let live = "read_models.\(table)"
            let built = "read_models.\(table)__verify"
            let onlyLive = "SELECT * FROM \(live) EXCEPT ALL SELECT * FROM \(built)"
            let onlyFresh = "SELECT * FROM \(built) EXCEPT ALL SELECT * FROM \(live)"
            let rows = try await client.liveQuery(
                PostgresQuery(unsafeSQL: "SELECT ((SELECT count(*) FROM (\(onlyLive)) a) + (SELECT count(*) FROM (\(onlyFresh)) b))::int8"),
                logger: logger
            ).first?.decode(Int64.self) ?? 0
            let sample = rows == 0 ? [] : try await client.liveQuery(
                PostgresQuery(
                    unsafeSQL: """
                        (SELECT 'live ' || row_to_json(a)::text FROM (\(onlyLive) LIMIT 3) a)
                        UNION ALL (SELECT 'fresh ' || row_to_json(b)::text FROM (\(onlyFresh) LIMIT 3) b)
                        """), logger: logger
            ).map { try $0.decode(String.self) }
            _ = try await client.liveQuery(PostgresQuery(unsafeSQL: "DROP TABLE \(built)"), logger: logger)
            differences.append(TableDifference(table: table, rows: rows, sample: sample))
        }
        return differences
    }

    /// Empty shadow tables with the live tables' columns, defaults, constraints and unique
    /// indexes; returns the statements that create the other indexes, run after the load.
    private func prepare() async throws -> [String] {
        try await client.liveTransaction(logger: logger) { connection in
            if recordsProgress { try await holdsClaim(on: connection) }
            var deferred: [String] = []
            for table in projection.tables {
                let shadow = "\(table)\(suffix)"
                _ = try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS read_models.\(shadow)"), logger: logger).collect()
                _ = try await connection.query(
                    PostgresQuery(unsafeSQL: "CREATE TABLE read_models.\(shadow) (LIKE read_models.\(table) INCLUDING ALL)"), logger: logger
                ).collect()
                let secondary = try await connection.query(
                    """
                    SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
                    JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
                    WHERE n.nspname = 'read_models' AND t.relname = \(shadow) AND NOT x.indisunique
                    """, logger: logger
                ).collect().map { try $0.decode((String, String).self) }
                for (index, definition) in secondary {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: "DROP INDEX read_models.\"\(index)\""), logger: logger).collect()
                    deferred.append(definition)
                }
            }
            return deferred
        }
    }

    /// The last position of the log's committed prefix: every event at or below it is visible
    /// (positions are taken in transaction sequence, see `readAll`).
    private func visibleHead() async throws -> Int64 {
        try await client.liveQuery(
            """
            SELECT coalesce(max(global_position), 0) FROM event_store.events
            WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
            """, logger: logger
        ).first?.decode(Int64.self) ?? 0
    }

    /// Streams the projection's events up to `head` and applies them chunk by chunk; a chunk
    /// is written while the next one is read and decoded. One read by position brings
    /// each stream's events by version, each once. Returns the events applied.
    private func load(through head: Int64, skipping skipped: [UUID]) async throws -> Int64 {
        let types = Array(projection.eventTypes)
        return try await client.withLiveConnection { connection in
            var applied: Int64 = 0
            var written = 0
            var writing: Task<Void, any Error>?
            defer { writing?.cancel() }
            let rows = try await connection.query(
                """
                SELECT e.global_position, e.event_id, e.stream_id, e.stream_type, e.stream_version, e.event_type, e.schema_version,
                       e.payload::text, e.correlation_id, e.causation_id, e.recorded_at
                FROM event_store.events e
                WHERE e.global_position <= \(head) AND e.event_type = ANY(\(types)) AND NOT e.event_id = ANY(\(skipped))
                ORDER BY e.global_position
                """, logger: logger)
            var batch: [RecordedEvent] = []
            batch.reserveCapacity(chunk)
            for try await row in rows {
                let event = try Self.leanEvent(row)
                batch.append(event)
                guard batch.count >= chunk else { continue }
                try await writing?.value
                if writing != nil {
                    written += 1
                    try await afterChunk(written)
                }
                applied += Int64(batch.count)
                writing = write(batch, position: event.globalPosition, applied: applied)
                batch.removeAll(keepingCapacity: true)
            }
            try await writing?.value
            writing = nil
            if !batch.isEmpty {
                applied += Int64(batch.count)
                try await write(batch, position: head, applied: applied).value
            }
            return applied
        }
    }

    /// `read_models.<projection>__rebuild_positions`: the last version of each stream among the
    /// events the load applied (the positions the live side keeps for this projection).
    var positionsTable: String {
        "read_models." + String(projection.name.map { $0.isLetter || $0.isNumber ? $0 : "_" }) + "__rebuild_positions"
    }

    private func computePositions(through head: Int64) async throws {
        let types = Array(projection.eventTypes)
        try await underClaim { connection in
            _ = try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(positionsTable)"), logger: logger).collect()
            _ = try await connection.query(
                """
                CREATE UNLOGGED TABLE \(unescaped: positionsTable) AS
                SELECT stream_id, max(stream_version) AS version FROM event_store.events
                WHERE global_position <= \(head) AND event_type = ANY(\(types))
                GROUP BY stream_id
                """, logger: logger
            ).collect()
            _ = try await connection.query(PostgresQuery(unsafeSQL: "ALTER TABLE \(positionsTable) ADD PRIMARY KEY (stream_id)"), logger: logger).collect()
        }
    }

    /// `body` in a transaction that first checks this rebuild still holds its claim (for the
    /// steps that change shared tables; a verification, which has its own, checks nothing).
    private func underClaim(_ body: @Sendable @escaping (PostgresConnection) async throws -> Void) async throws {
        try await client.liveTransaction(logger: logger) { connection in
            if recordsProgress { try await holdsClaim(on: connection) }
            try await body(connection)
        }
    }

    private func write(_ events: [RecordedEvent], position: Int64, applied: Int64) -> Task<Void, any Error> {
        Task {
            try await client.liveTransaction(logger: logger) { connection in
                // A rebuild paused past its claim's expiry must not write into its successor's
                // shadow tables when it resumes: every chunk checks the claim first (and holds
                // it until the chunk commits).
                if recordsProgress { try await holdsClaim(on: connection) }
                try await projection.apply(
                    events, to: ProjectionTarget(connection: connection, logger: logger, tableSuffix: suffix, isBulkLoad: true))
                if recordsProgress {
                    _ = try await connection.query(
                        """
                        UPDATE read_models.rebuilds SET position = \(position), events_applied = \(applied), heartbeat_at = now()
                        WHERE projection = \(projection.name) AND owner = \(owner)
                        """,
                        logger: logger
                    ).collect()
                }
            }
        }
    }

    /// An event without its metadata, which no projection reads.
    private static func leanEvent(_ row: PostgresRow) throws -> RecordedEvent {
        let c = try row.decode((Int64, UUID, String, String, Int64, String, Int32, String, String, String?, Date).self)
        return RecordedEvent(
            eventID: c.1, streamID: c.2, streamType: c.3, streamVersion: c.4, globalPosition: c.0, type: c.5, schemaVersion: Int(c.6),
            recordedAt: c.10, correlationID: c.8, causationID: c.9, metadata: [:], payload: Array(c.7.utf8))
    }

    /// One transaction: hold live writers (readers go on), catch the shadow up with everything
    /// the store has beyond the load's position and every stream the live side applied
    /// further, then rename shadow tables in and replace the stream positions.
    private func swap(after position: Int64) async throws -> Int {
        try await client.liveTransaction(logger: logger) { connection in
            let target = ProjectionTarget(connection: connection, logger: logger, tableSuffix: suffix, isBulkLoad: false)
            // Only the claim's owner swaps (a rebuild whose claim expired and was taken over
            // stops here); the row stays locked until the swap commits.
            try await holdsClaim(on: connection)
            let skipped = Set(try await skippedEvents(on: connection))
            // Live batches take checkpoint row locks first: this makes them wait at their start.
            _ = try await connection.query("LOCK TABLE read_models.checkpoints IN EXCLUSIVE MODE", logger: logger).collect()
            var tail = position
            while true {
                let events = try await readAll(after: tail, on: connection)
                guard let last = events.last else { break }
                try await applyNew(events, skipping: skipped, to: target, on: connection)
                tail = last.globalPosition
            }
            let behind = try await connection.query(
                """
                SELECT l.stream_id, coalesce(s.version, 0), l.version FROM read_models.stream_positions l
                LEFT JOIN \(unescaped: positionsTable) s ON s.stream_id = l.stream_id
                WHERE l.projection = \(projection.name) AND l.version > coalesce(s.version, 0)
                """, logger: logger
            ).collect().map { try $0.decode((String, Int64, Int64).self) }
            for (stream, shadow, live) in behind {
                // On the swap's own connection: the pool may be taken by live batches waiting at
                // the checkpoint lock, and the swap, idle while it waited for one, would be ended
                // by the idle-in-transaction bound.
                let events = try await PostgresEventStore.events(of: stream, after: shadow, before: live + 1, on: connection, logger: logger)
                try await applyNew(events, skipping: skipped, to: target, on: connection)
            }
            for table in projection.tables {
                // What other roles may do with the table (a context's grant to read it) moves to
                // the rebuilt one: a fresh table grants nothing.
                let grants = try await connection.query(
                    """
                    SELECT grantee::text, privilege_type::text FROM information_schema.role_table_grants
                    WHERE table_schema = 'read_models' AND table_name = \(table) AND grantee <> current_user
                    """, logger: logger
                ).collect().map { try $0.decode((String, String).self) }
                _ = try await connection.query(
                    PostgresQuery(unsafeSQL: "ALTER TABLE read_models.\(table) RENAME TO \(table)__retired"), logger: logger).collect()
                _ = try await connection.query(
                    PostgresQuery(unsafeSQL: "ALTER TABLE read_models.\(table)\(suffix) RENAME TO \(table)"), logger: logger).collect()
                for (grantee, privilege) in grants {
                    _ = try await connection.query(
                        PostgresQuery(unsafeSQL: "GRANT \(privilege) ON read_models.\(table) TO \(grantee == "PUBLIC" ? grantee : "\"\(grantee)\"")"),
                        logger: logger
                    ).collect()
                }
            }
            _ = try await connection.query("DELETE FROM read_models.stream_positions WHERE projection = \(projection.name)", logger: logger).collect()
            _ = try await connection.query(
                """
                INSERT INTO read_models.stream_positions (projection, stream_id, version)
                SELECT \(projection.name), stream_id, version FROM \(unescaped: positionsTable)
                """, logger: logger
            ).collect()
            _ = try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE \(positionsTable)"), logger: logger).collect()
            try await resolveLetters(on: connection)
            return behind.count
        }
    }

    /// Applies the events the shadow has not applied yet, moving their streams' positions.
    private func applyNew(
        _ events: [RecordedEvent], skipping skipped: Set<UUID>, to target: ProjectionTarget, on connection: PostgresConnection
    ) async throws {
        let mine = events.filter { projection.eventTypes.contains($0.type) && !skipped.contains($0.eventID) }
        guard !mine.isEmpty else { return }
        var positions: [String: Int64] = [:]
        for row in try await connection.query(
            "SELECT stream_id, version FROM \(unescaped: positionsTable) WHERE stream_id = ANY(\(Array(Set(mine.map(\.streamID)))))",
            logger: logger
        ).collect() {
            let (stream, version) = try row.decode((String, Int64).self)
            positions[stream] = version
        }
        var fresh: [RecordedEvent] = []
        for event in mine where event.streamVersion > positions[event.streamID] ?? 0 {
            positions[event.streamID] = event.streamVersion
            fresh.append(event)
        }
        guard !fresh.isEmpty else { return }
        try await projection.apply(fresh, to: target)
        let streams = Array(Set(fresh.map(\.streamID)))
        _ = try await connection.query(
            """
            INSERT INTO \(unescaped: positionsTable) AS p (stream_id, version)
            SELECT * FROM unnest(\(streams)::text[], \(streams.map { positions[$0] ?? 0 })::int8[])
            ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version
            """, logger: logger
        ).collect()
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
            _ = try await client.liveQuery(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS read_models.\(table)__retired"), logger: logger)
        }
    }
}

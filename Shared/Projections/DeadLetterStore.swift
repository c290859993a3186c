import EventSourcing
import Foundation
public import Logging
public import PostgresNIO

/// Operator actions on parked events: list, show, replay a stream's parked sequence in sequence,
/// skip one with a recorded reason. Events themselves are never edited or deleted.
public struct DeadLetterStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    public let projections: [any Projection]
    /// Runs in each replay chunk's transaction once the stream's position is locked and its
    /// parked letters read, before any is applied: tests run a live batch of the stream there.
    public var afterReadingParked: @Sendable () async throws -> Void = {}

    public init(client: PostgresClient, logger: Logger, projections: [any Projection]) {
        self.client = client
        self.logger = logger
        self.projections = projections
    }

    public struct Filter: Sendable {
        public var projection: String?
        public var stream: String?
        public var status: String? = "parked"
        public var fingerprint: String?
        /// Only letters whose first failure is older than this many seconds.
        public var olderThanSeconds: Int?
        public var limit = 100

        public init(projection: String? = nil, stream: String? = nil, status: String? = "parked", fingerprint: String? = nil, olderThanSeconds: Int? = nil, limit: Int = 100) {
            self.projection = projection
            self.stream = stream
            self.status = status
            self.fingerprint = fingerprint
            self.olderThanSeconds = olderThanSeconds
            self.limit = limit
        }
    }

    static let columns = """
        id, processor, projection, topic, partition, kafka_offset, stream_id, stream_version, event_id, event_type, error, fingerprint,
        attempts, blocked_by, status, first_failed_at, last_failed_at, resolved_at, resolved_by, resolution
        """

    public func list(_ filter: Filter = Filter()) async throws -> [DeadLetter] {
        let age = filter.olderThanSeconds.map(Int64.init) ?? -1
        return try await client.liveQuery(
            """
            SELECT \(unescaped: Self.columns) FROM read_models.dead_letters
            WHERE (\(filter.projection)::text IS NULL OR projection = \(filter.projection)::text)
              AND (\(filter.stream)::text IS NULL OR stream_id = \(filter.stream)::text)
              AND (\(filter.status)::text IS NULL OR status = \(filter.status)::text)
              AND (\(filter.fingerprint)::text IS NULL OR fingerprint = \(filter.fingerprint)::text)
              AND (\(age)::int8 < 0 OR first_failed_at < now() - make_interval(secs => \(age)::int8))
            ORDER BY id LIMIT \(Int64(filter.limit))
            """, logger: logger
        ).map(Self.deadLetter)
    }

    public func get(_ id: Int64) async throws -> DeadLetter? {
        try await client.liveQuery("SELECT \(unescaped: Self.columns) FROM read_models.dead_letters WHERE id = \(id)", logger: logger).first.map(Self.deadLetter)
    }

    /// The stored event (envelope and payload) of a dead letter, as JSON.
    public func event(of id: Int64) async throws -> String? {
        try await client.liveQuery("SELECT event::text FROM read_models.dead_letters WHERE id = \(id)", logger: logger).first?.decode(String.self)
    }

    /// Parked letters grouped by failure shape, largest group first.
    public func groups() async throws -> [(fingerprint: String, projection: String, count: Int64, streams: Int64)] {
        try await client.liveQuery(
            """
            SELECT fingerprint, projection, count(*)::int8, count(DISTINCT stream_id)::int8 FROM read_models.dead_letters
            WHERE status = 'parked' GROUP BY fingerprint, projection ORDER BY count(*) DESC
            """, logger: logger
        ).map { try $0.decode((String, String, Int64, Int64).self) }
    }

    public struct ReplayReport: Sendable, Codable {
        public var replayed = 0
        /// The stream versions applied, as they were applied.
        public var appliedVersions: [Int64] = []
        public var stillParked = 0
        /// Set when an event failed again: it and everything behind it stay parked.
        public var failure: String?
    }

    /// Replays one stream's parked events for one projection, in stream sequence, in chunks of
    /// `chunk` per transaction. Stops at the first event that fails again (re-parked with the
    /// new error, everything after it parked behind it).
    public func replay(projection name: String, stream: String, operator who: String, chunk: Int = 100) async throws -> ReplayReport {
        guard let projection = projections.first(where: { $0.name == name }) else {
            throw DeadLetterError(reason: "no projection named \(name) runs here; known: \(projections.map(\.name).joined(separator: ", "))")
        }
        var report = ReplayReport()
        while true {
            let (done, failure, applied, count) = try await client.liveTransaction(logger: logger) { connection in
                try await replayChunk(projection: projection, stream: stream, operator: who, chunk: chunk, on: connection)
            }
            report.replayed += count
            report.appliedVersions += applied
            if let failure {
                report.failure = failure
                break
            }
            if done { break }
        }
        report.stillParked = try await client.liveQuery(
            "SELECT count(*)::int8 FROM read_models.dead_letters WHERE projection = \(name) AND stream_id = \(stream) AND status = 'parked'",
            logger: logger
        ).first.map { Int(try $0.decode(Int64.self)) } ?? 0
        return report
    }

    /// Replays every stream with parked letters for a projection (optionally one failure group).
    public func replayAll(projection: String, fingerprint: String? = nil, operator who: String) async throws -> [String: ReplayReport] {
        let streams = try await client.liveQuery(
            """
            SELECT stream_id FROM read_models.dead_letters
            WHERE status = 'parked' AND projection = \(projection) AND blocked_by IS NULL
              AND (\(fingerprint)::text IS NULL OR fingerprint = \(fingerprint)::text)
            GROUP BY stream_id ORDER BY min(id)
            """, logger: logger
        ).map { try $0.decode(String.self) }
        var reports: [String: ReplayReport] = [:]
        for stream in streams { reports[stream] = try await replay(projection: projection, stream: stream, operator: who) }
        return reports
    }

    private func replayChunk(
        projection: any Projection, stream: String, operator who: String, chunk: Int, on connection: PostgresConnection
    ) async throws -> (done: Bool, failure: String?, applied: [Int64], replayed: Int) {
        // Lock the stream's position: the live consumer waits while we replay this stream.
        _ = try await connection.query(
            """
            INSERT INTO read_models.stream_positions (projection, stream_id, version) VALUES (\(projection.name), \(stream), 0)
            ON CONFLICT DO NOTHING
            """, logger: logger
        ).collect()
        var position = try await connection.query(
            "SELECT version FROM read_models.stream_positions WHERE projection = \(projection.name) AND stream_id = \(stream) FOR UPDATE",
            logger: logger
        ).collect().first?.decode(Int64.self) ?? 0
        let rows = try await connection.query(
            """
            SELECT id, stream_version, event::text FROM read_models.dead_letters
            WHERE projection = \(projection.name) AND stream_id = \(stream) AND status = 'parked'
            ORDER BY stream_version, id LIMIT \(Int64(chunk)) FOR UPDATE
            """, logger: logger
        ).collect()
        try await afterReadingParked()
        var replayed = 0
        var applied: [Int64] = []
        for row in rows {
            let (id, version, json) = try row.decode((Int64, Int64, String).self)
            if version > position {
                guard let event = try? JSONDecoder().decode(StoredEnvelope.self, from: Data(json.utf8)).event else {
                    return (true, "dead letter \(id) has no readable event; skip it", applied, replayed)
                }
                _ = try await connection.query("SAVEPOINT replay_event", logger: logger).collect()
                do {
                    try await projection.apply([event], to: ProjectionTarget(connection: connection, logger: logger))
                    _ = try await connection.query("RELEASE SAVEPOINT replay_event", logger: logger).collect()
                    position = version
                    applied.append(version)
                } catch {
                    _ = try await connection.query("ROLLBACK TO SAVEPOINT replay_event", logger: logger).collect()
                    _ = try await connection.query(
                        """
                        UPDATE read_models.dead_letters SET error = \("\(error)"), attempts = attempts + 1, last_failed_at = now(), blocked_by = NULL
                        WHERE id = \(id)
                        """, logger: logger
                    ).collect()
                    _ = try await connection.query(
                        """
                        UPDATE read_models.dead_letters SET blocked_by = \(id)
                        WHERE projection = \(projection.name) AND stream_id = \(stream) AND status = 'parked' AND id <> \(id)
                        """, logger: logger
                    ).collect()
                    try await savePosition(position, projection: projection.name, stream: stream, on: connection)
                    return (true, "\(error)", applied, replayed)
                }
            }
            _ = try await connection.query(
                """
                UPDATE read_models.dead_letters SET status = 'replayed', resolved_at = now(), resolved_by = \(who), resolution = 'replayed'
                WHERE id = \(id)
                """, logger: logger
            ).collect()
            replayed += 1
        }
        try await savePosition(position, projection: projection.name, stream: stream, on: connection)
        return (rows.count < chunk, nil, applied, replayed)
    }

    private func savePosition(_ version: Int64, projection: String, stream: String, on connection: PostgresConnection) async throws {
        _ = try await connection.query(
            "UPDATE read_models.stream_positions SET version = greatest(version, \(version)) WHERE projection = \(projection) AND stream_id = \(stream)",
            logger: logger
        ).collect()
    }

    /// Marks one parked letter skipped, with who and why; it will never be applied. Letters
    /// parked behind it stay parked until their stream is replayed.
    public func skip(_ id: Int64, reason: String, operator who: String) async throws -> DeadLetter {
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw DeadLetterError(reason: "a reason is required to skip") }
        let rows = try await client.liveTransaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                UPDATE read_models.dead_letters SET status = 'skipped', resolved_at = now(), resolved_by = \(who), resolution = \(reason)
                WHERE id = \(id) AND status = 'parked' RETURNING projection, stream_id, stream_version
                """, logger: logger
            ).collect()
            if let row = rows.first {
                let (projection, stream, version) = try row.decode((String, String, Int64).self)
                // A letter of no projection (an unreadable record, `*`) or of the processor's
                // arrival (`@…`, ahead of a gap) moves no position: skipping a far-ahead version
                // must not make the processor take the versions below it as arrived.
                if !projection.hasPrefix("@") && projection != "*" {
                    _ = try await connection.query(
                        """
                        INSERT INTO read_models.stream_positions (projection, stream_id, version) VALUES (\(projection), \(stream), \(version))
                        ON CONFLICT (projection, stream_id) DO UPDATE SET version = greatest(read_models.stream_positions.version, EXCLUDED.version)
                        """, logger: logger
                    ).collect()
                }
                _ = try await connection.query(
                    "UPDATE read_models.dead_letters SET blocked_by = NULL WHERE blocked_by = \(id) AND status = 'parked'", logger: logger
                ).collect()
            }
            return rows
        }
        guard !rows.isEmpty, let letter = try await get(id) else { throw DeadLetterError(reason: "no parked dead letter \(id)") }
        return letter
    }

    static func deadLetter(_ row: PostgresRow) throws -> DeadLetter {
        let c = try row.decode(
            (Int64, String, String, String, Int32, Int64, String, Int64, UUID, String, String, String, Int32, Int64?, String, Date, Date, Date?, String?, String?).self)
        return DeadLetter(
            id: c.0, processor: c.1, projection: c.2, topic: c.3, partition: c.4, offset: c.5, streamId: c.6, streamVersion: c.7,
            eventId: c.8, eventType: c.9, error: c.10, fingerprint: c.11, attempts: Int(c.12), blockedBy: c.13, status: c.14,
            firstFailedAt: c.15, lastFailedAt: c.16, resolvedAt: c.17, resolvedBy: c.18, resolution: c.19)
    }
}

public struct DeadLetterError: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public var description: String { reason }
}

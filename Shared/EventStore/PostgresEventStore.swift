public import EventSourcing
public import Foundation
public import Logging
public import PostgresNIO

/// The event store on PostgreSQL: appends with optimistic concurrency, writing the outbox rows
/// (and the command-log row, for idempotency) in the same transaction; stream reads forward, up
/// to a version or up to a point in time; the global log without skipping uncommitted gaps.
public final class PostgresEventStore: Sendable {
    public let client: PostgresClient
    let logger: Logger
    let topicForStreamType: @Sendable (String) -> String
    private let batcher: AppendBatcher

    /// `topicForStreamType` names the Kafka topic of each stream type (the outbox's target).
    public init(client: PostgresClient, logger: Logger, topicForStreamType: @escaping @Sendable (String) -> String) {
        self.client = client
        self.logger = logger
        self.topicForStreamType = topicForStreamType
        self.batcher = AppendBatcher { batch in await Self.writeBatch(batch, client: client, logger: logger) }
    }

    /// Appends queued for group commit, not yet taken into a batch.
    package var queuedAppends: Int { batcher.queued }

    public func migrate() async throws {
        try await EventStoreSchema.migrator.run(on: client, logger: logger)
    }

    /// Appends `events` to `stream` if it is at `expected`; with `command`, records the command
    /// id in the same transaction so that a repeated id returns the first result and appends
    /// nothing.
    public func append(
        to stream: StreamName, expected: ExpectedVersion, events: [NewEvent], command: CommandRecord? = nil
    ) async throws(EventStoreError) -> AppendOutcome {
        let streamID = stream.description
        let topic = topicForStreamType(stream.category)
        // Checked before the append joins a batch: input PostgreSQL or Kafka would refuse must
        // fail this append alone, never the batch it would have shared.
        try Limits.check(stream: streamID, events: events, command: command)
        // Appends with a version check go through group commit; `.any` takes its own transaction.
        switch expected {
        case .noStream, .exact:
            let versionRead: Int64 = if case .exact(let version) = expected { version } else { 0 }
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let rows = events.map { event in
                NewEventRow(event: event, metadataJSON: (try? encoder.encode(event.metadata)).map { String(decoding: $0, as: UTF8.self) } ?? "{}")
            }
            return try await batcher.submit(
                stream: streamID, category: stream.category, topic: topic, expected: versionRead, events: rows, command: command
            ).get()
        case .any:
            break
        }
        let logger = self.logger
        do {
            return try await client.withTransaction(logger: logger) { connection -> AppendOutcome in
                let firstPosition = try await Self.reservePositions(events.count, on: connection, logger: logger)
                if let command {
                    if let stored = try await Self.claim(command, stream: streamID, on: connection, logger: logger) {
                        return .duplicateCommand(storedResult: stored)
                    }
                }
                let lastVersion = try await Self.advanceVersion(
                    of: stream, by: Int64(events.count), expected: expected, on: connection, logger: logger)
                let appended = try await Self.insert(
                    events, stream: stream, firstVersion: lastVersion - Int64(events.count) + 1, firstPosition: firstPosition,
                    topic: topic, on: connection, logger: logger)
                let result = AppendResult(streamID: streamID, nextExpectedVersion: lastVersion, events: appended)
                if let command {
                    let body = String(decoding: command.result(result), as: UTF8.self)
                    _ = try await connection.query(
                        "UPDATE event_store.command_log SET result = \(body)::jsonb WHERE command_id = \(command.id)",
                        logger: logger
                    ).collect()
                }
                return .appended(result)
            }
        } catch let error as PostgresTransactionError {
            // A rule the transaction enforced (the expected version) comes back wrapped.
            if let rule = error.closureError as? EventStoreError, error.commitError == nil { throw rule }
            throw .database(error, stream: streamID)
        } catch let error as EventStoreError {
            throw error
        } catch {
            throw .database(error, stream: streamID)
        }
    }

    static let positionLockKey: Int64 = 0x504F_5349_5449_4F4E  // "POSITION"

    /// Takes `count` consecutive global positions together with the transaction's id, as its
    /// first write (migration 2's function): positions then come in transaction-id order, which
    /// is what makes `readAll`'s "older than every running transaction" rule gap-safe. Unused
    /// positions (an append that then conflicts) are harmless gaps.
    static func reservePositions(_ count: Int, on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let rows = try await connection.query("SELECT event_store.reserve_positions(\(Int32(max(count, 1))))", logger: logger).collect()
        guard let first = try rows.first?.decode(Int64.self) else {
            throw EventStoreError(code: .database, reason: "reserve_positions returned no row")
        }
        return first
    }

    /// Returns the stored result when the command id was seen before; otherwise claims it.
    /// A concurrent first execution of the same id makes this wait until it commits.
    private static func claim(
        _ command: CommandRecord, stream: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> [UInt8]? {
        let claimed = try await connection.query(
            """
            INSERT INTO event_store.command_log (command_id, stream_id, request_hash) VALUES (\(command.id), \(stream), \(command.requestHash))
            ON CONFLICT (command_id) DO NOTHING RETURNING command_id
            """, logger: logger
        ).collect()
        guard claimed.isEmpty else { return nil }
        let rows = try await connection.query(
            "SELECT coalesce(result::text, '{}'), request_hash FROM event_store.command_log WHERE command_id = \(command.id)",
            logger: logger
        ).collect()
        let (stored, storedHash) = try rows.first?.decode((String, String?).self) ?? ("{}", nil)
        try command.checkSameRequest(storedHash: storedHash)
        return Array(stored.utf8)
    }

    /// Moves the stream's version row, enforcing `expected`; returns the new version.
    private static func advanceVersion(
        of stream: StreamName, by count: Int64, expected: ExpectedVersion, on connection: PostgresConnection, logger: Logger
    ) async throws -> Int64 {
        let streamID = stream.description
        let rows: [PostgresRow]
        switch expected {
        case .noStream, .exact(0):
            rows = try await connection.query(
                """
                INSERT INTO event_store.streams (stream_id, stream_type, version) VALUES (\(streamID), \(stream.category), \(count))
                ON CONFLICT (stream_id) DO NOTHING RETURNING version
                """, logger: logger
            ).collect()
        case .exact(let version):
            rows = try await connection.query(
                """
                UPDATE event_store.streams SET version = version + \(count), updated_at = now()
                WHERE stream_id = \(streamID) AND version = \(version) RETURNING version
                """, logger: logger
            ).collect()
        case .any:
            rows = try await connection.query(
                """
                INSERT INTO event_store.streams (stream_id, stream_type, version) VALUES (\(streamID), \(stream.category), \(count))
                ON CONFLICT (stream_id) DO UPDATE SET version = event_store.streams.version + \(count), updated_at = now()
                RETURNING version
                """, logger: logger
            ).collect()
        }
        if let row = rows.first { return try row.decode(Int64.self) }
        let current = try await connection.query(
            "SELECT version FROM event_store.streams WHERE stream_id = \(streamID)", logger: logger
        ).collect().first?.decode(Int64.self) ?? 0
        throw EventStoreError.wrongExpectedVersion(stream: streamID, expected: expected.description, actual: current)
    }

    /// One multi-row insert (arrays bound and unnested) for the events and their outbox rows.
    private static func insert(
        _ events: [NewEvent], stream: StreamName, firstVersion: Int64, firstPosition: Int64, topic: String,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> [AppendedEvent] {
        guard !events.isEmpty else { return [] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let ids = events.map(\.eventID)
        let versions = events.indices.map { firstVersion + Int64($0) }
        let positions = events.indices.map { firstPosition + Int64($0) }
        let types = events.map(\.encoded.type)
        let schemas = events.map { Int32($0.encoded.schemaVersion) }
        let payloads = events.map { String(decoding: $0.encoded.payload, as: UTF8.self) }
        let metadata = try events.map { String(decoding: try encoder.encode($0.metadata), as: UTF8.self) }
        let correlations = events.map(\.correlationID)
        let causations = events.map { $0.causationID ?? "" }
        let streamID = stream.description
        let rows = try await connection.query(
            """
            WITH inserted AS (
                INSERT INTO event_store.events (global_position, event_id, stream_id, stream_type, stream_version, event_type,
                                                schema_version, payload, metadata, correlation_id, causation_id)
                OVERRIDING SYSTEM VALUE
                SELECT e.global_position, e.event_id, \(streamID), \(stream.category), e.stream_version, e.event_type, e.schema_version,
                       e.payload::jsonb, e.metadata::jsonb, e.correlation_id, nullif(e.causation_id, '')
                FROM unnest(\(positions)::int8[], \(ids)::uuid[], \(versions)::int8[], \(types)::text[], \(schemas)::int4[],
                            \(payloads)::text[], \(metadata)::text[], \(correlations)::text[], \(causations)::text[])
                     AS e(global_position, event_id, stream_version, event_type, schema_version, payload, metadata, correlation_id,
                          causation_id)
                RETURNING global_position, stream_version, recorded_at
            ), outboxed AS (
                INSERT INTO event_store.outbox (global_position, stream_id, topic)
                SELECT global_position, \(streamID), \(topic) FROM inserted
            )
            SELECT global_position, stream_version, recorded_at FROM inserted ORDER BY stream_version
            """, logger: logger
        ).collect()
        return try rows.map { row in
            let (position, version, recordedAt) = try row.decode((Int64, Int64, Date).self)
            return AppendedEvent(streamVersion: version, globalPosition: position, recordedAt: recordedAt)
        }
    }
}

/// A command's id and the response to store with it for repeats.
public struct CommandRecord: Sendable {
    public var id: String
    /// A digest of the request the id stands for (an HTTP Idempotency-Key's body): the same id
    /// with a different request is refused (`commandIDReused`) instead of answered with the
    /// first request's result. Nil where the id alone identifies the command (saga commands).
    public var requestHash: String?
    public var result: @Sendable (AppendResult) -> [UInt8]

    public init(id: String, requestHash: String? = nil, result: @escaping @Sendable (AppendResult) -> [UInt8]) {
        self.id = id
        self.requestHash = requestHash
        self.result = result
    }

    func checkSameRequest(storedHash: String?) throws(EventStoreError) {
        guard let requestHash, let storedHash, requestHash != storedHash else { return }
        throw EventStoreError(
            code: .commandIDReused, reason: "command id \(id) was already used for a different request")
    }
}

public enum AppendOutcome: Sendable {
    case appended(AppendResult)
    /// The command id was seen before: nothing was appended; the first result is returned.
    case duplicateCommand(storedResult: [UInt8])
}

public struct AppendResult: Sendable {
    public var streamID: String
    /// The stream's version after the append: the expected version for the next one.
    public var nextExpectedVersion: Int64
    public var events: [AppendedEvent]
}

public struct AppendedEvent: Sendable {
    public var streamVersion: Int64
    public var globalPosition: Int64
    public var recordedAt: Date
}

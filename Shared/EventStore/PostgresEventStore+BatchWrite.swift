import EventSourcing
import Foundation
import Logging
import PostgresNIO
import ServiceSupport

extension PostgresEventStore {
    /// Writes a batch of appends (distinct streams, distinct command ids) in one transaction:
    /// claim command ids, advance every stream whose expected version holds, insert all their
    /// events and outbox rows in one statement, store command results. An append whose version
    /// check fails gets its own conflict; the others commit.
    ///
    /// When PostgreSQL refuses a statement of the batch (its data, not the connection), each
    /// append is written again on its own, so that the refused one fails alone and the others
    /// commit. Not after a lost connection or a failed commit: the batch may have committed, and
    /// writing its appends again could append them twice.
    static func writeBatch(
        _ batch: [AppendBatcher.Request], client: PostgresClient, logger: Logger
    ) async -> [Result<AppendOutcome, EventStoreError>] {
        let (results, refused) = await writeTransaction(batch, client: client, logger: logger)
        guard batch.count > 1, refused else { return results }
        logger.warning("append batch failed; writing its appends one by one", metadata: ["appends": "\(batch.count)"])
        var individual: [Result<AppendOutcome, EventStoreError>] = []
        for request in batch {
            individual.append(
                await writeTransaction([request], client: client, logger: logger).results.first
                    ?? .failure(EventStoreError(code: .database, reason: "no result")))
        }
        return individual
    }

    /// The batch in one transaction; `refused` when a statement of it was refused by the server.
    private static func writeTransaction(
        _ batch: [AppendBatcher.Request], client: PostgresClient, logger: Logger
    ) async -> (results: [Result<AppendOutcome, EventStoreError>], refused: Bool) {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return (try await client.liveTransaction(logger: logger) { connection in
                    try await writeBatch(batch, on: connection, logger: logger)
                }, false)
            } catch {
                // Deadlock or serialization failure with a writer outside the batcher: try again.
                let state = DatabaseErrors.sqlState(of: error)
                if attempt < 3, state == "40P01" || state == "40001" { continue }
                let failure = EventStoreError.database(error, stream: batch.count == 1 ? batch.first?.stream : nil)
                return (batch.map { _ in .failure(failure) }, DatabaseErrors.isStatementRefusal(error))
            }
        }
    }

    private static func writeBatch(
        _ batch: [AppendBatcher.Request], on connection: PostgresConnection, logger: Logger
    ) async throws -> [Result<AppendOutcome, EventStoreError>] {
        var results = [Result<AppendOutcome, EventStoreError>?](repeating: nil, count: batch.count)
        var active = Array(batch.indices)

        // 0. Positions for every event of the batch, as the transaction's first write.
        let firstPosition = try await reservePositions(batch.reduce(0) { $0 + $1.events.count }, on: connection, logger: logger)

        // 1. Command ids: a repeated id returns its stored result and appends nothing.
        let commanded = active.filter { batch[$0].command != nil }
        if !commanded.isEmpty {
            let ids = commanded.compactMap { batch[$0].command?.id }
            let streams = commanded.map { batch[$0].stream }
            let hashes = commanded.map { batch[$0].command?.requestHash ?? "" }
            let claimed = Set(
                try await connection.query(
                    """
                    INSERT INTO event_store.command_log (command_id, stream_id, request_hash)
                    SELECT c.command_id, c.stream_id, nullif(c.request_hash, '')
                    FROM unnest(\(ids)::text[], \(streams)::text[], \(hashes)::text[]) AS c(command_id, stream_id, request_hash)
                    ON CONFLICT (command_id) DO NOTHING RETURNING command_id
                    """, logger: logger
                ).collect().map { try $0.decode(String.self) })
            let repeated = ids.filter { !claimed.contains($0) }
            if !repeated.isEmpty {
                var stored: [String: (result: String, hash: String?)] = [:]
                for row in try await connection.query(
                    """
                    SELECT command_id, coalesce(result::text, '{}'), request_hash FROM event_store.command_log
                    WHERE command_id = ANY(\(repeated))
                    """,
                    logger: logger
                ).collect() {
                    let (id, result, hash) = try row.decode((String, String, String?).self)
                    stored[id] = (result, hash)
                }
                for index in commanded {
                    guard let command = batch[index].command, !claimed.contains(command.id) else { continue }
                    do {
                        try command.checkSameRequest(storedHash: stored[command.id]?.hash)
                        results[index] = .success(.duplicateCommand(storedResult: Array((stored[command.id]?.result ?? "{}").utf8)))
                    } catch {
                        results[index] = .failure(error)
                    }
                }
                active.removeAll { results[$0] != nil }
            }
        }

        // 2. Versions: every stream moves only if it is where its writer expected.
        if !active.isEmpty {
            let streams = active.map { batch[$0].stream }
            let categories = active.map { batch[$0].category }
            let expected = active.map { batch[$0].expected }
            let counts = active.map { Int64(batch[$0].events.count) }
            var moved: [String: Int64] = [:]
            for row in try await connection.query(
                """
                WITH request AS (
                    SELECT * FROM unnest(\(streams)::text[], \(categories)::text[], \(expected)::int8[], \(counts)::int8[])
                        AS r(stream_id, stream_type, expected, n)
                ), updated AS (
                    UPDATE event_store.streams s SET version = s.version + r.n, updated_at = now()
                    FROM request r WHERE r.expected > 0 AND s.stream_id = r.stream_id AND s.version = r.expected
                    RETURNING s.stream_id, s.version
                ), created AS (
                    INSERT INTO event_store.streams (stream_id, stream_type, version)
                    SELECT stream_id, stream_type, n FROM request WHERE expected = 0
                    ON CONFLICT (stream_id) DO NOTHING RETURNING stream_id, version
                )
                SELECT stream_id, version FROM updated UNION ALL SELECT stream_id, version FROM created
                """, logger: logger
            ).collect() {
                let (stream, version) = try row.decode((String, Int64).self)
                moved[stream] = version
            }
            let conflicted = active.filter { moved[batch[$0].stream] == nil }
            if !conflicted.isEmpty {
                var current: [String: Int64] = [:]
                let conflictedStreams = conflicted.map { batch[$0].stream }
                for row in try await connection.query(
                    "SELECT stream_id, version FROM event_store.streams WHERE stream_id = ANY(\(conflictedStreams))", logger: logger
                ).collect() {
                    let (stream, version) = try row.decode((String, Int64).self)
                    current[stream] = version
                }
                for index in conflicted {
                    let request = batch[index]
                    results[index] = .failure(
                        .wrongExpectedVersion(
                            stream: request.stream, expected: request.expected == 0 ? "no stream" : "\(request.expected)",
                            actual: current[request.stream] ?? 0))
                }
                // Their command ids were claimed above; give them back.
                let released = conflicted.compactMap { batch[$0].command?.id }
                if !released.isEmpty {
                    _ = try await connection.query(
                        "DELETE FROM event_store.command_log WHERE command_id = ANY(\(released))", logger: logger
                    ).collect()
                }
                active.removeAll { results[$0] != nil }
            }
        }

        // 3. Events and outbox rows of every append that passed, in one statement.
        guard !active.isEmpty else { return results.map { $0 ?? .failure(EventStoreError(code: .database, reason: "no result")) } }
        var positions: [Int64] = []
        var ids: [UUID] = []
        var streams: [String] = []
        var categories: [String] = []
        var versions: [Int64] = []
        var types: [String] = []
        var schemas: [Int32] = []
        var payloads: [String] = []
        var metadata: [String] = []
        var correlations: [String] = []
        var causations: [String] = []
        var topics: [String] = []
        for index in active {
            let request = batch[index]
            for (offset, row) in request.events.enumerated() {
                positions.append(firstPosition + Int64(positions.count))
                ids.append(row.event.eventID)
                streams.append(request.stream)
                categories.append(request.category)
                versions.append(request.expected + Int64(offset) + 1)
                types.append(row.event.encoded.type)
                schemas.append(Int32(row.event.encoded.schemaVersion))
                payloads.append(String(decoding: row.event.encoded.payload, as: UTF8.self))
                metadata.append(row.metadataJSON)
                correlations.append(row.event.correlationID)
                causations.append(row.event.causationID ?? "")
                topics.append(request.topic)
            }
        }
        var appended: [String: [AppendedEvent]] = [:]
        for row in try await connection.query(
            """
            WITH input AS (
                SELECT * FROM unnest(\(positions)::int8[], \(ids)::uuid[], \(streams)::text[], \(categories)::text[],
                                     \(versions)::int8[], \(types)::text[], \(schemas)::int4[], \(payloads)::text[],
                                     \(metadata)::text[], \(correlations)::text[], \(causations)::text[], \(topics)::text[])
                    AS e(global_position, event_id, stream_id, stream_type, stream_version, event_type, schema_version, payload,
                         metadata, correlation_id, causation_id, topic)
            ), inserted AS (
                INSERT INTO event_store.events (global_position, event_id, stream_id, stream_type, stream_version, event_type,
                                                schema_version, payload, metadata, correlation_id, causation_id)
                SELECT global_position, event_id, stream_id, stream_type, stream_version, event_type, schema_version, payload::jsonb,
                       metadata::jsonb, correlation_id, nullif(causation_id, '')
                FROM input
                RETURNING global_position, stream_id, stream_version, recorded_at
            ), outboxed AS (
                INSERT INTO event_store.outbox (global_position, stream_id, topic)
                SELECT i.global_position, i.stream_id, input.topic
                FROM inserted i JOIN input ON input.stream_id = i.stream_id AND input.stream_version = i.stream_version
            )
            SELECT global_position, stream_id, stream_version, recorded_at FROM inserted
            """, logger: logger
        ).collect() {
            let (position, stream, version, recordedAt) = try row.decode((Int64, String, Int64, Date).self)
            appended[stream, default: []].append(AppendedEvent(streamVersion: version, globalPosition: position, recordedAt: recordedAt))
        }

        // 4. Results, and what a repeated command id will answer.
        var resultIDs: [String] = []
        var resultBodies: [String] = []
        for index in active {
            let request = batch[index]
            let events = (appended[request.stream] ?? []).sorted { $0.streamVersion < $1.streamVersion }
            let result = AppendResult(
                streamID: request.stream, nextExpectedVersion: request.expected + Int64(request.events.count), events: events)
            results[index] = .success(.appended(result))
            if let command = request.command {
                resultIDs.append(command.id)
                resultBodies.append(String(decoding: command.result(result), as: UTF8.self))
            }
        }
        if !resultIDs.isEmpty {
            _ = try await connection.query(
                """
                UPDATE event_store.command_log c SET result = r.result::jsonb
                FROM unnest(\(resultIDs)::text[], \(resultBodies)::text[]) AS r(command_id, result)
                WHERE c.command_id = r.command_id
                """, logger: logger
            ).collect()
        }
        return results.map { $0 ?? .failure(EventStoreError(code: .database, reason: "no result")) }
    }
}

public import EventSourcing
import EventStore
public import Foundation
public import Logging
import Metrics
public import PostgresNIO
import ServiceSupport

/// Stores the instances of one saga definition and advances them: each input (an event, a
/// deadline, an operator's retry) is handled in ONE transaction that moves the event's stream
/// arrival position (which also recognises a redelivery), locks the instance row, saves the new
/// state, writes the commands to the outbox and appends to the history. A crash at any point
/// leaves either all of it or none.
public struct SagaStore<Definition: SagaDefinition>: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// The saga does not care about this event.
        case ignored
        /// Handled before (a redelivery): nothing changed.
        case duplicate
        case advanced(status: SagaStatus, commands: Int)
        /// Ahead of a gap in its stream that the event store cannot fill either: held back,
        /// nothing changed.
        case heldBack(expectedVersion: Int64)
    }

    public let definition: Definition
    let client: PostgresClient
    let logger: Logger

    public init(definition: Definition, client: PostgresClient, logger: Logger) {
        self.definition = definition
        self.client = client
        self.logger = logger
    }

    /// What the store holds about one instance.
    struct Instance {
        var state: Definition.State
        var status: SagaStatus
        var step: String
    }

    /// The input that caused a change, for the history and the commands' causation id.
    struct Cause {
        var kind: String
        var detail: String
        var causationID: String?
    }

    /// `now` defaults to the database's clock (see `databaseNow`).
    ///
    /// The event's stream must arrive in order: an event at or below the stream's arrival
    /// position is a redelivery; one above it + 1 is ahead of a gap (the relay lost a send, or
    /// the log lost the event), and the missing events are read from the event store and
    /// handled first, in the same transaction. Events recorded before the saga's arrival
    /// positions existed count as handled then (see migration 2).
    public func handle(_ event: RecordedEvent, now givenNow: Date? = nil) async throws -> Outcome {
        try await transaction { connection in
            let probe = try await arrivalProbe(of: event, on: connection)
            let now = givenNow ?? probe.now
            if let last = probe.last, event.streamVersion <= last { return .duplicate }
            var inOrder = [event]
            let expected = (probe.last ?? 0) + 1
            let firstSeenFromBefore = probe.last == nil && event.recordedAt < probe.epoch
            if event.streamVersion > expected && !firstSeenFromBefore {
                let missing = try await PostgresEventStore.events(of: event.streamID, after: expected - 1, before: event.streamVersion, on: connection, logger: logger)
                guard missing.map(\.streamVersion) == Array(expected..<event.streamVersion) else {
                    return .heldBack(expectedVersion: expected)
                }
                logger.warning(
                    "event ahead of a gap in its stream: missing events read from the event store",
                    metadata: ["stream": "\(event.streamID)", "version": "\(event.streamVersion)", "filled": "\(missing.count)"])
                inOrder = missing.filter { $0.recordedAt >= probe.epoch } + [event]
            }
            var outcome = Outcome.ignored
            for next in inOrder {
                // A concurrent transaction (the partition's old owner during a rebalance) that
                // handled the same event first leaves nothing to move: a redelivery.
                guard try await moveArrival(to: next, on: connection) else { return .duplicate }
                outcome = try await react(to: next, now: now, on: connection)
            }
            return outcome
        }
    }

    /// One event's effect on its instance (start, react, or mark failed), after its arrival.
    private func react(to event: RecordedEvent, now: Date, on connection: PostgresConnection) async throws -> Outcome {
        guard let correlationID = definition.correlationID(of: event) else { return .ignored }
        let cause = Cause(kind: "event", detail: "\(event.type) from \(event.streamID)@\(event.streamVersion)", causationID: event.eventID.uuidString)
        guard let current = try await load(correlationID, on: connection) else {
            let started: SagaReaction<Definition.State>?
            do {
                started = try definition.start(with: event, now: now)
            } catch {
                // No state to mark failed: keep the error where operators look for the instance.
                try await appendHistory(
                    correlationID, [("error", "cannot start from \(cause.detail): \(error)")], step: "-", status: .failed, on: connection)
                logger.error("saga cannot start", metadata: ["correlationId": "\(correlationID)", "error": "\(error)"])
                return .advanced(status: .failed, commands: 0)
            }
            guard let started else { return .ignored }
            try await save(started, correlationID, previous: nil, cause: cause, on: connection)
            return .advanced(status: started.status, commands: started.commands.count)
        }
        do {
            let reaction = try definition.react(to: event, in: current.state, now: now)
            try await save(reaction, correlationID, previous: current, cause: cause, on: connection)
            return .advanced(status: reaction.status, commands: reaction.commands.count)
        } catch {
            try await markFailed(correlationID, current, cause: cause, error: "\(error)", on: connection)
            return .advanced(status: .failed, commands: 0)
        }
    }

    /// The stream's arrival position (row locked, nil before its first event), the database's
    /// clock (every time the saga keeps is taken from it) and when arrival positions began.
    private func arrivalProbe(of event: RecordedEvent, on connection: PostgresConnection) async throws -> (last: Int64?, now: Date, epoch: Date) {
        let row = try await connection.query(
            """
            SELECT now(),
                   (SELECT version FROM sagas.stream_positions WHERE saga = \(definition.name) AND stream_id = \(event.streamID) FOR UPDATE),
                   coalesce((SELECT min(started_at) FROM sagas.arrival_epoch), '-infinity')
            """, logger: logger
        ).collect().first
        guard let (now, last, epoch) = try row?.decode((Date, Int64?, Date).self) else {
            throw SagaStoreError(reason: "the arrival query returned no row")
        }
        return (last, now, epoch)
    }

    /// Moves the stream's arrival position up to the event; false when it already was there
    /// (another transaction handled the event first).
    private func moveArrival(to event: RecordedEvent, on connection: PostgresConnection) async throws -> Bool {
        try await !connection.query(
            """
            INSERT INTO sagas.stream_positions AS p (saga, stream_id, version) VALUES (\(definition.name), \(event.streamID), \(event.streamVersion))
            ON CONFLICT (saga, stream_id) DO UPDATE SET version = EXCLUDED.version WHERE p.version < EXCLUDED.version
            RETURNING 1
            """, logger: logger
        ).collect().isEmpty
    }

    /// The database's clock. Deadlines are set and compared by it, so orchestrators on hosts
    /// whose clocks differ agree on when a deadline passed.
    private func databaseNow(on connection: PostgresConnection) async throws -> Date {
        guard let now = try await connection.query("SELECT now()", logger: logger).collect().first?.decode(Date.self) else {
            throw SagaStoreError(reason: "SELECT now() returned no row")
        }
        return now
    }

    /// Fires the deadlines that have passed (up to `limit`), each instance locked so that
    /// concurrent orchestrators never fire the same one; returns how many fired.
    public func fireDueDeadlines(limit: Int = 100, now givenNow: Date? = nil) async throws -> Int {
        let definition = self.definition
        return try await transaction { connection in
            let now: Date
            if let givenNow { now = givenNow } else { now = try await databaseNow(on: connection) }
            let rows = try await connection.query(
                """
                SELECT correlation_id, state::text, status, step, deadline_at FROM sagas.instances
                WHERE saga = \(definition.name) AND status = 'running' AND deadline_at <= \(now)
                ORDER BY deadline_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """, logger: logger
            ).collect()
            for row in rows {
                let (correlationID, stateText, status, step, _) = try row.decode((String, String, String, String, Date).self)
                let current: Instance
                do {
                    current = try instance(stateText: stateText, status: status, step: step)
                } catch {
                    // One unreadable instance must not stop every other deadline.
                    _ = try await connection.query(
                        """
                        UPDATE sagas.instances SET status = 'failed', error = \("unreadable state: \(error)"), deadline_at = NULL, updated_at = now()
                        WHERE saga = \(definition.name) AND correlation_id = \(correlationID)
                        """, logger: logger
                    ).collect()
                    continue
                }
                let reaction = definition.deadlinePassed(in: current.state, now: now)
                try await save(reaction, correlationID, previous: current, cause: Cause(kind: "deadline", detail: "deadline passed in step \(step)"), on: connection)
            }
            return rows.count
        }
    }

    public struct NotRetryable: Error, CustomStringConvertible, Sendable {
        public var correlationID: String
        public var status: String?
        public var description: String {
            status.map { "saga \(correlationID) is \($0); only a failed saga can be retried" } ?? "no saga \(correlationID)"
        }
    }

    /// An operator's retry of a failed instance.
    public func retry(_ correlationID: String, operator name: String, now givenNow: Date? = nil) async throws -> SagaStatus {
        let definition = self.definition
        return try await transaction { connection in
            let now: Date
            if let givenNow { now = givenNow } else { now = try await databaseNow(on: connection) }
            guard let current = try await load(correlationID, on: connection), current.status == .failed else {
                let status = try await connection.query(
                    "SELECT status FROM sagas.instances WHERE saga = \(definition.name) AND correlation_id = \(correlationID)", logger: logger
                ).collect().first?.decode(String.self)
                throw NotRetryable(correlationID: correlationID, status: status)
            }
            let reaction = definition.retry(current.state, now: now)
            try await save(reaction, correlationID, previous: current, cause: Cause(kind: "operator", detail: "retried by \(name)"), on: connection)
            return reaction.status
        }
    }

    // MARK: - Writing

    private func load(_ correlationID: String, on connection: PostgresConnection) async throws -> Instance? {
        guard
            let row = try await connection.query(
                """
                SELECT state::text, status, step FROM sagas.instances
                WHERE saga = \(definition.name) AND correlation_id = \(correlationID) FOR UPDATE
                """, logger: logger
            ).collect().first
        else { return nil }
        let (stateText, status, step) = try row.decode((String, String, String).self)
        return try instance(stateText: stateText, status: status, step: step)
    }

    private func instance(stateText: String, status: String, step: String) throws -> Instance {
        let state = try EventJSON.decoder().decode(Definition.State.self, from: Data(stateText.utf8))
        return Instance(state: state, status: SagaStatus(rawValue: status) ?? .failed, step: step)
    }

    private func save(
        _ reaction: SagaReaction<Definition.State>, _ correlationID: String, previous: Instance?, cause: Cause, on connection: PostgresConnection
    ) async throws {
        let stateText = String(decoding: try EventJSON.encoder().encode(reaction.state), as: UTF8.self)
        // A failed instance that an input does not move to a new step stays failed (it has no
        // deadline to wake it): only a step change or an operator's retry runs it again.
        let stillFailed = previous?.status == .failed && reaction.status == .running && reaction.deadline == .keep
        let status = stillFailed ? SagaStatus.failed.rawValue : reaction.status.rawValue
        let keepDeadline = reaction.deadline == .keep
        let deadline: Date? = if case .at(let date) = reaction.deadline { date } else { nil }
        if previous == nil {
            _ = try await connection.query(
                """
                INSERT INTO sagas.instances (saga, correlation_id, status, step, state, deadline_at)
                VALUES (\(definition.name), \(correlationID), \(status), \(reaction.step), \(stateText)::jsonb, \(deadline))
                """, logger: logger
            ).collect()
        } else {
            _ = try await connection.query(
                """
                UPDATE sagas.instances SET status = \(status), step = \(reaction.step), state = \(stateText)::jsonb,
                    deadline_at = CASE WHEN \(keepDeadline) AND \(status) = 'running' THEN deadline_at ELSE \(deadline) END,
                    error = CASE WHEN \(status) = 'failed' THEN error END,
                    version = version + 1, updated_at = now()
                WHERE saga = \(definition.name) AND correlation_id = \(correlationID)
                """, logger: logger
            ).collect()
        }
        if !reaction.commands.isEmpty {
            let commands = reaction.commands
            _ = try await connection.query(
                """
                INSERT INTO sagas.outbox (saga, correlation_id, command_id, command_type, topic, key, payload, causation_id)
                SELECT \(definition.name), \(correlationID), c.id, c.type, c.topic, c.key, c.payload::jsonb, \(cause.causationID)
                FROM unnest(\(commands.map(\.id))::text[], \(commands.map(\.type))::text[], \(commands.map(\.topic))::text[],
                            \(commands.map(\.key))::text[], \(commands.map { String(decoding: $0.payload, as: UTF8.self) })::text[])
                     WITH ORDINALITY AS c(id, type, topic, key, payload, n)
                ORDER BY c.n
                """, logger: logger
            ).collect()
        }
        var entries: [(String, String)] = [(cause.kind, cause.detail)]
        entries += reaction.commands.map { ("command", "\($0.type) to \($0.key) (id \($0.id))") }
        if let note = reaction.note { entries.append(("step", note)) }
        if previous == nil { Counter(label: "sagas_started_total", dimensions: [("saga", definition.name)]).increment() }
        if status != SagaStatus.running.rawValue && status != previous?.status.rawValue {
            Counter(label: "sagas_finished_total", dimensions: [("saga", definition.name), ("outcome", status)]).increment()
        }
        try await appendHistory(correlationID, entries, step: reaction.step, status: SagaStatus(rawValue: status) ?? .failed, on: connection)
    }

    private func markFailed(_ correlationID: String, _ current: Instance, cause: Cause, error: String, on connection: PostgresConnection) async throws {
        _ = try await connection.query(
            """
            UPDATE sagas.instances SET status = 'failed', error = \(error), deadline_at = NULL, version = version + 1, updated_at = now()
            WHERE saga = \(definition.name) AND correlation_id = \(correlationID)
            """, logger: logger
        ).collect()
        try await appendHistory(
            correlationID, [(cause.kind, cause.detail), ("error", "cannot handle it: \(error)")], step: current.step, status: .failed, on: connection)
        if current.status != .failed {
            Counter(label: "sagas_finished_total", dimensions: [("saga", definition.name), ("outcome", SagaStatus.failed.rawValue)]).increment()
        }
        logger.error("saga failed", metadata: ["correlationId": "\(correlationID)", "input": "\(cause.detail)", "error": "\(error)"])
    }

    private func appendHistory(
        _ correlationID: String, _ entries: [(kind: String, detail: String)], step: String, status: SagaStatus, on connection: PostgresConnection
    ) async throws {
        _ = try await connection.query(
            """
            INSERT INTO sagas.history (saga, correlation_id, kind, detail, step, status)
            SELECT \(definition.name), \(correlationID), e.kind, e.detail, \(step), \(status.rawValue)
            FROM unnest(\(entries.map(\.kind))::text[], \(entries.map(\.detail))::text[]) WITH ORDINALITY AS e(kind, detail, n)
            ORDER BY e.n
            """, logger: logger
        ).collect()
    }

    /// One transaction, abandoned after 45 s (see `guardedTransaction`).
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await client.guardedTransaction(logger: logger, body)
    }
}

/// The saga store could not read what it just asked PostgreSQL for.
public struct SagaStoreError: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public var description: String { "saga store: \(reason)" }
}

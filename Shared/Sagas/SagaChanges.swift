import EventSourcing
import EventStore
import Foundation
import Kafka
import Logging
import Metrics
import PostgresNIO
import ServiceSupport

/// What one transaction of the saga store does to its instances, computed in memory and then
/// written in one statement: the instances' final rows, the commands for the outbox and the
/// history entries, each as they happened.
struct SagaChanges<Definition: SagaDefinition> {
    /// An instance as the transaction sees it.
    struct Working {
        /// Nil for an instance whose first event the definition refused: it has not started.
        var state: Definition.State?
        var status: SagaStatus
        var step: String
        var deadline: Date?
        var error: String?
        /// Not in the table yet: inserted, not updated.
        var isNew: Bool
        /// Changes made in this transaction (the row's version moves by as many).
        var changes: Int64 = 0
        /// Events held with the instance (`sagas.parked_events`), in the table and parked in this
        /// transaction: while there are any, every later event of the instance is held too.
        var parked: Int64 = 0
        /// A reaction of this transaction set a new deadline: its wait and the ids of the commands
        /// it sent are stored with it (the deadline counts from when those were consumed).
        var newDeadline: NewDeadline?
    }

    struct NewDeadline {
        var waitMilliseconds: Int64
        var commandIDs: [String]
    }

    /// An event kept with its instance: refused (`reason`), or held behind a refused one.
    struct ParkedRow {
        var correlationID: String
        var event: RecordedEvent
        var reason: String?
    }

    /// A record for the dead-letter topic, published by the command relay.
    struct DeadLetterRow {
        var correlationID: String
        var letter: KafkaOutgoingMessage
        var causationID: String?
    }

    struct HistoryRow {
        var correlationID: String
        var kind: String
        var detail: String
        var step: String
        var status: SagaStatus
    }

    struct OutboxRow {
        var correlationID: String
        var command: SagaCommand
        var causationID: String?
        /// The step's trace context as a JSON object ("" when not traced).
        var traceHeaders: String
    }

    /// The input that caused a change, for the history and the commands' causation id.
    struct Cause {
        var kind: String
        var detail: String
        var causationID: String?
        /// The trace context of the input's handling (its span), stored with the commands it
        /// sends as a JSON object; "" when not traced.
        var traceHeaders = ""
    }

    let definition: Definition
    var instances: [String: Working]
    private(set) var history: [HistoryRow] = []
    private(set) var outbox: [OutboxRow] = [] {
        didSet { counts.outboxRows = outbox.count + deadLetters.count }
    }
    private(set) var parked: [ParkedRow] = []
    private(set) var deadLetters: [DeadLetterRow] = [] {
        didSet { counts.outboxRows = outbox.count + deadLetters.count }
    }
    /// Instances started and finished (by outcome), counted once the transaction committed.
    private(set) var counts = SagaCounts()

    init(definition: Definition, instances: [String: Working]) {
        self.definition = definition
        self.instances = instances
    }

    /// One event's effect on its instance: start, react, or refuse it. A refused event is kept
    /// with its instance, which is failed with the reason (created failed, not started, when the
    /// event should have started it), and every later event of the instance is kept behind it,
    /// so the operator's retry can hand them all to the definition again, in sequence.
    mutating func react(to event: RecordedEvent, now: Date, traceHeaders: String = "", logger: Logger) -> SagaStore<Definition>.Outcome {
        guard let correlationID = definition.correlationID(of: event) else { return .ignored }
        var cause = Cause(event)
        cause.traceHeaders = traceHeaders
        if let current = instances[correlationID], current.parked > 0 {
            park(event, of: correlationID, reason: nil, cause: cause)
            return .heldBehindRefused
        }
        switch handOver(event, of: correlationID, now: now, cause: cause, logger: logger) {
        case .handled(let outcome):
            if case .advanced = outcome, let reached = instances[correlationID] {
                // From the event's recording to the step it moved the instance to (counted once
                // the transaction committed).
                counts.steps.append((reached.step, max(0, now.timeIntervalSince(event.recordedAt))))
            }
            return outcome
        case .refused(let reason):
            park(event, of: correlationID, reason: reason, cause: cause)
            return .refused(reason: reason)
        }
    }

    enum HandOver {
        case handled(SagaStore<Definition>.Outcome)
        case refused(String)
    }

    /// Gives the event to the definition: `start` when the instance has not started, `react`
    /// otherwise; a definition that throws leaves the instance failed with the reason.
    mutating func handOver(_ event: RecordedEvent, of correlationID: String, now: Date, cause: Cause, logger: Logger) -> HandOver {
        guard let current = instances[correlationID], let state = current.state else {
            let started: SagaReaction<Definition.State>?
            do {
                started = try definition.start(with: event, now: now)
            } catch {
                let reason = "saga \(correlationID) cannot start from \(cause.detail) (schema version \(event.schemaVersion)): \(error)"
                markNotStarted(correlationID, cause: cause, reason: reason, logger: logger)
                return .refused(reason)
            }
            guard let started else { return .handled(.ignored) }
            save(started, correlationID, cause: cause, now: now)
            return .handled(.advanced(status: started.status, commands: started.commands.count))
        }
        do {
            let reaction = try definition.react(to: event, in: state, now: now)
            save(reaction, correlationID, cause: cause, now: now)
            return .handled(.advanced(status: reaction.status, commands: reaction.commands.count))
        } catch {
            let reason = "saga \(correlationID) cannot handle \(cause.detail) (schema version \(event.schemaVersion)): \(error)"
            markFailed(correlationID, cause: cause, error: reason, logger: logger)
            return .refused(reason)
        }
    }

    /// Keeps the event with its instance (written to `sagas.parked_events`).
    private mutating func park(_ event: RecordedEvent, of correlationID: String, reason: String?, cause: Cause) {
        parked.append(ParkedRow(correlationID: correlationID, event: event, reason: reason))
        guard var current = instances[correlationID] else { return }
        current.parked += 1
        instances[correlationID] = current
        if reason == nil {
            history.append(
                HistoryRow(
                    correlationID: correlationID, kind: "event", detail: "\(cause.detail) kept behind a refused event until an operator's retry",
                    step: current.step, status: current.status))
        }
    }

    /// A history line for an input that changes nothing by itself (an operator's retry of an
    /// instance that has not started).
    mutating func note(_ cause: Cause, of correlationID: String) {
        guard let current = instances[correlationID] else { return }
        history.append(HistoryRow(correlationID: correlationID, kind: cause.kind, detail: cause.detail, step: current.step, status: current.status))
    }

    /// The dead-letter copy of a refused event, written with the transaction that refused it.
    mutating func deadLetter(_ letter: KafkaOutgoingMessage, of correlationID: String, causationID: String?) {
        deadLetters.append(DeadLetterRow(correlationID: correlationID, letter: letter, causationID: causationID))
    }

    /// An instance whose first event the definition refused: created failed with the reason (no
    /// state), so operators find it and can retry it once the code can read the event.
    private mutating func markNotStarted(_ correlationID: String, cause: Cause, reason: String, logger: Logger) {
        let previous = instances[correlationID]
        instances[correlationID] = Working(
            state: nil, status: .failed, step: Self.notStarted, deadline: nil, error: reason, isNew: previous?.isNew ?? true,
            changes: (previous?.changes ?? 0) + 1, parked: previous?.parked ?? 0)
        history.append(HistoryRow(correlationID: correlationID, kind: cause.kind, detail: cause.detail, step: Self.notStarted, status: .failed))
        history.append(HistoryRow(correlationID: correlationID, kind: "error", detail: "cannot start from it: \(reason)", step: Self.notStarted, status: .failed))
        if previous?.status != .failed { counts.finished.append(SagaStatus.failed.rawValue) }
        logger.error("saga cannot start", metadata: ["saga_instance": "\(correlationID)", "cause": "\(cause.causationID ?? "")", "error": "\(reason)"])
    }

    /// The step of an instance whose first event was refused.
    static var notStarted: String { "not started" }

    /// Applies a reaction to the instance (creating it when there is none); `now` is the time the
    /// definition was given (a new deadline's wait is measured from it).
    mutating func save(_ reaction: SagaReaction<Definition.State>, _ correlationID: String, cause: Cause, now: Date) {
        let previous = instances[correlationID]
        // A failed instance that an input does not move to a new step stays failed (it has no
        // deadline to wake it): only a step change or an operator's retry runs it again.
        let stillFailed = previous?.status == .failed && reaction.status == .running && reaction.deadline == .keep
        let status = stillFailed ? SagaStatus.failed : reaction.status
        let deadline: Date? =
            switch reaction.deadline {
            case .keep: status == .running ? previous?.deadline : nil
            case .none: nil
            case .at(let date): date
            }
        var newDeadline = previous?.newDeadline
        if case .at(let date) = reaction.deadline, deadline != nil {
            newDeadline = NewDeadline(waitMilliseconds: max(0, Int64((date.timeIntervalSince(now) * 1_000).rounded())), commandIDs: reaction.commands.map(\.id))
        }
        instances[correlationID] = Working(
            state: reaction.state, status: status, step: reaction.step, deadline: deadline, error: status == .failed ? previous?.error : nil,
            isNew: previous?.isNew ?? true, changes: (previous?.changes ?? 0) + 1, parked: previous?.parked ?? 0, newDeadline: newDeadline)
        outbox += reaction.commands.map {
            OutboxRow(correlationID: correlationID, command: $0, causationID: cause.causationID, traceHeaders: cause.traceHeaders)
        }
        // One line per input: what came, what it sent, why (a line per command and per note
        // tripled the rows an instance wrote, and the events say the rest).
        var detail = cause.detail
        if !reaction.commands.isEmpty { detail += "; sent " + reaction.commands.map { "\($0.type) to \($0.key) (id \($0.id))" }.joined(separator: ", ") }
        if let note = reaction.note { detail += " — " + note }
        history.append(HistoryRow(correlationID: correlationID, kind: cause.kind, detail: detail, step: reaction.step, status: status))
        if previous?.state == nil { counts.started += 1 }
        if status != .running && status != previous?.status { counts.finished.append(status.rawValue) }
    }

    mutating func markFailed(_ correlationID: String, cause: Cause, error: String, logger: Logger) {
        guard var current = instances[correlationID] else { return }
        let wasFailed = current.status == .failed
        current.status = .failed
        current.error = error
        current.deadline = nil
        current.changes += 1
        instances[correlationID] = current
        history.append(HistoryRow(correlationID: correlationID, kind: cause.kind, detail: cause.detail, step: current.step, status: .failed))
        history.append(HistoryRow(correlationID: correlationID, kind: "error", detail: "cannot handle it: \(error)", step: current.step, status: .failed))
        if !wasFailed { counts.finished.append(SagaStatus.failed.rawValue) }
        logger.error(
            "saga failed", metadata: ["saga_instance": "\(correlationID)", "cause": "\(cause.causationID ?? "")", "input": "\(cause.detail)", "error": "\(error)"])
    }

    // MARK: - Reading and writing

    /// A dead letter's row id: where the record came from (its `dlq-source` header).
    static func deadLetterID(_ row: DeadLetterRow) -> String {
        "dead-letter:" + PrintableText.of(row.letter.headers.first { $0.key == "dlq-source" }?.stringValue ?? row.correlationID)
    }

    /// The instances, locked sorted by correlation id (a stable sequence, so that two transactions
    /// that share instances wait for each other instead of deadlocking).
    static func load(
        _ correlationIDs: [String], definition: Definition, on connection: PostgresConnection, logger: Logger
    ) async throws -> [String: Working] {
        guard !correlationIDs.isEmpty else { return [:] }
        var instances: [String: Working] = [:]
        for row in try await connection.query(
            """
            SELECT correlation_id, state::text, status, step, deadline_at, error, \(unescaped: parkedCount) FROM sagas.instances i
            WHERE saga = \(definition.name) AND correlation_id = ANY(\(correlationIDs.sorted()))
            ORDER BY correlation_id FOR UPDATE
            """, logger: logger
        ).collect() {
            let (id, state, status, step, deadline, error, parked) = try row.decode((String, String, String, String, Date?, String?, Int64).self)
            instances[id] = try working(stateText: state, status: status, step: step, deadline: deadline, error: error, parked: parked)
        }
        return instances
    }

    /// Counts the held events of the instances that may have any, again, in a statement of its
    /// own. The locking read counted them in its snapshot: when it waited for an instance's row,
    /// it gets the row as the other transaction committed it (failed, or retried) but a count
    /// from before that commit (READ COMMITTED re-reads only the locked row), and an event
    /// would be handed over past a refused one, or held behind nothing. A new statement sees
    /// every commit before it, and the rows are ours now. Only instances that are failed or
    /// hold events are asked about: none on the usual path.
    static func refreshParked(_ instances: inout [String: Working], saga: String, on connection: PostgresConnection, logger: Logger) async throws {
        let suspects = instances.filter { !$0.value.isNew && ($0.value.parked > 0 || $0.value.status == .failed) }.keys.sorted()
        guard !suspects.isEmpty else { return }
        var counts: [String: Int64] = [:]
        for row in try await connection.query(
            """
            SELECT correlation_id, count(*)::int8 FROM sagas.parked_events
            WHERE saga = \(saga) AND correlation_id = ANY(\(suspects)) GROUP BY correlation_id
            """, logger: logger
        ).collect() {
            let (id, count) = try row.decode((String, Int64).self)
            counts[id] = count
        }
        for id in suspects { instances[id]?.parked = counts[id] ?? 0 }
    }

    /// The events held with instance `i` (a column of a query over `sagas.instances i`).
    static var parkedCount: String {
        "(SELECT count(*) FROM sagas.parked_events p WHERE p.saga = i.saga AND p.correlation_id = i.correlation_id)::int8"
    }

    static func working(stateText: String, status: String, step: String, deadline: Date?, error: String?, parked: Int64 = 0) throws -> Working {
        let state = try EventJSON.decoder().decode(Definition.State?.self, from: Data(stateText.utf8))
        return Working(
            state: state, status: SagaStatus(rawValue: status) ?? .failed, step: step, deadline: deadline, error: error, isNew: false, parked: parked)
    }

    /// Writes the arrival positions and every change in one statement (new instances, changed
    /// instances, commands and history entries, each from arrays); returns how many arrival
    /// positions moved.
    @discardableResult
    func write(arrivals: ArrivalMoves, on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let changed = instances.filter { $0.value.changes > 0 }.sorted { $0.key < $1.key }
        guard arrivals.count > 0 || !changed.isEmpty || !outbox.isEmpty || !history.isEmpty || !parked.isEmpty || !deadLetters.isEmpty else { return 0 }
        let encoder = EventJSON.encoder()
        let rows = try changed.map { (id: $0.key, working: $0.value, state: String(decoding: try encoder.encode($0.value.state), as: UTF8.self)) }
        let parkedEvents = try parked.map { try StoredEvent.text(of: $0.event) }
        let letters = try deadLetters.map { try StoredKafkaRecord.text(of: $0.letter) }
        let inserts = rows.filter(\.working.isNew)
        let updates = rows.filter { !$0.working.isNew }
        let epoch = Date(timeIntervalSince1970: 0)
        let sends = rows.flatMap { row in (row.working.newDeadline?.commandIDs ?? []).map { (correlationID: row.id, commandID: $0) } }
        let moved = try await connection.prepared(
            """
            WITH arrival AS (
                SELECT * FROM unnest(\(arrivals.streams)::text[], \(arrivals.versions)::int8[], \(arrivals.seen)::bool[])
                    AS a(stream_id, version, seen)
            ), arrival_inserted AS (
                INSERT INTO sagas.stream_positions (saga, stream_id, version)
                SELECT \(definition.name), stream_id, version FROM arrival WHERE NOT seen
                ON CONFLICT (saga, stream_id) DO NOTHING
                RETURNING 1
            ), arrival_updated AS (
                UPDATE sagas.stream_positions p SET version = a.version FROM arrival a
                WHERE a.seen AND p.saga = \(definition.name) AND p.stream_id = a.stream_id AND p.version < a.version
                RETURNING 1
            ), commands AS (
                INSERT INTO sagas.outbox (saga, correlation_id, command_id, command_type, topic, key, payload, causation_id, trace_headers)
                SELECT \(definition.name), c.correlation_id, c.id, c.type, c.topic, c.key, c.payload::jsonb, nullif(c.causation, ''),
                       nullif(c.trace, '')::jsonb
                FROM unnest(\(outbox.map(\.correlationID))::text[], \(outbox.map(\.command.id))::text[], \(outbox.map(\.command.type))::text[],
                            \(outbox.map(\.command.topic))::text[], \(outbox.map(\.command.key))::text[],
                            \(outbox.map { String(decoding: $0.command.payload, as: UTF8.self) })::text[], \(outbox.map { $0.causationID ?? "" })::text[],
                            \(outbox.map(\.traceHeaders))::text[])
                     WITH ORDINALITY AS c(correlation_id, id, type, topic, key, payload, causation, trace, n)
                ORDER BY c.n
                RETURNING position, correlation_id, command_id
            ), deadline_sends AS (
                SELECT c.correlation_id, array_agg(c.position ORDER BY c.position) AS positions
                FROM commands c JOIN unnest(\(sends.map(\.correlationID))::text[], \(sends.map(\.commandID))::text[]) AS d(correlation_id, command_id)
                  ON d.correlation_id = c.correlation_id AND d.command_id = c.command_id
                GROUP BY c.correlation_id
            ), new_instances AS (
                INSERT INTO sagas.instances (saga, correlation_id, status, step, state, deadline_at, error, version, deadline_wait_ms, deadline_commands)
                SELECT \(definition.name), u.id, u.status, u.step, u.state::jsonb, CASE WHEN u.has_deadline THEN u.deadline END,
                       nullif(u.error, ''), u.version, CASE WHEN u.has_deadline AND u.restarted THEN u.wait_ms END,
                       CASE WHEN u.has_deadline AND u.restarted THEN coalesce(ds.positions, '{}') END
                FROM unnest(\(inserts.map(\.id))::text[], \(inserts.map(\.working.status.rawValue))::text[], \(inserts.map(\.working.step))::text[],
                            \(inserts.map(\.state))::text[], \(inserts.map { $0.working.deadline != nil })::bool[],
                            \(inserts.map { $0.working.deadline ?? epoch })::timestamptz[],
                            \(inserts.map { $0.working.error ?? "" })::text[], \(inserts.map(\.working.changes))::int8[],
                            \(inserts.map { $0.working.newDeadline != nil })::bool[], \(inserts.map { $0.working.newDeadline?.waitMilliseconds ?? 0 })::int8[])
                     AS u(id, status, step, state, has_deadline, deadline, error, version, restarted, wait_ms)
                LEFT JOIN deadline_sends ds ON ds.correlation_id = u.id
            ), changed_instances AS (
                UPDATE sagas.instances t SET status = u.status, step = u.step, state = u.state::jsonb,
                    deadline_at = CASE WHEN u.has_deadline THEN u.deadline END, error = nullif(u.error, ''),
                    version = t.version + u.changes, updated_at = now(),
                    deadline_wait_ms = CASE WHEN NOT u.has_deadline THEN NULL WHEN u.restarted THEN u.wait_ms ELSE t.deadline_wait_ms END,
                    deadline_commands = CASE WHEN NOT u.has_deadline THEN NULL WHEN u.restarted THEN coalesce(ds.positions, '{}') ELSE t.deadline_commands END
                FROM unnest(\(updates.map(\.id))::text[], \(updates.map(\.working.status.rawValue))::text[], \(updates.map(\.working.step))::text[],
                            \(updates.map(\.state))::text[], \(updates.map { $0.working.deadline != nil })::bool[],
                            \(updates.map { $0.working.deadline ?? epoch })::timestamptz[],
                            \(updates.map { $0.working.error ?? "" })::text[], \(updates.map(\.working.changes))::int8[],
                            \(updates.map { $0.working.newDeadline != nil })::bool[], \(updates.map { $0.working.newDeadline?.waitMilliseconds ?? 0 })::int8[])
                     AS u(id, status, step, state, has_deadline, deadline, error, changes, restarted, wait_ms)
                LEFT JOIN deadline_sends ds ON ds.correlation_id = u.id
                WHERE t.saga = \(definition.name) AND t.correlation_id = u.id
            ), parked AS (
                INSERT INTO sagas.parked_events (saga, correlation_id, event, reason)
                SELECT \(definition.name), p.correlation_id, p.event, nullif(p.reason, '')
                FROM unnest(\(parked.map(\.correlationID))::text[], \(parkedEvents)::text[], \(parked.map { $0.reason ?? "" })::text[])
                     WITH ORDINALITY AS p(correlation_id, event, reason, n)
                ORDER BY p.n
            ), letters AS (
                INSERT INTO sagas.outbox (saga, correlation_id, command_id, command_type, topic, key, payload, causation_id, kind)
                SELECT \(definition.name), d.correlation_id, d.id, 'DeadLetter', d.topic, d.key, d.record::jsonb, nullif(d.causation, ''), 'dead-letter'
                FROM unnest(\(deadLetters.map(\.correlationID))::text[], \(deadLetters.map(Self.deadLetterID))::text[],
                            \(deadLetters.map(\.letter.topic))::text[], \(deadLetters.map { PrintableText.of($0.letter.key.map { String(decoding: $0, as: UTF8.self) } ?? "") })::text[],
                            \(letters)::text[], \(deadLetters.map { $0.causationID ?? "" })::text[])
                     WITH ORDINALITY AS d(correlation_id, id, topic, key, record, causation, n)
                ORDER BY d.n
            ), entries AS (
                INSERT INTO sagas.history (saga, correlation_id, kind, detail, step, status)
                SELECT \(definition.name), e.correlation_id, e.kind, e.detail, e.step, e.status
                FROM unnest(\(history.map(\.correlationID))::text[], \(history.map(\.kind))::text[], \(history.map(\.detail))::text[],
                            \(history.map(\.step))::text[], \(history.map(\.status.rawValue))::text[])
                     WITH ORDINALITY AS e(correlation_id, kind, detail, step, status, n)
                ORDER BY e.n
            )
            SELECT (SELECT count(*) FROM arrival_inserted) + (SELECT count(*) FROM arrival_updated)
            """, as: SagaWriteStatement.self, logger: logger)
        return try moved.first?.decode(Int64.self) ?? 0
    }
}

/// Stream arrival positions to move from what the transaction's probe saw (`seen`, rows it
/// locked) to `moved`. A stream the probe saw no row for is inserted, and only inserted: if
/// another transaction inserted it meanwhile, that one received these events first, fewer
/// positions move than `count`, and the caller retries the batch (which then sees them as
/// redeliveries).
struct ArrivalMoves {
    var streams: [String] = []
    var versions: [Int64] = []
    var seen: [Bool] = []
    var count: Int64 { Int64(streams.count) }

    static let none = ArrivalMoves()

    init() {}

    init(moved: [String: Int64], seen probed: [String: Int64]) {
        streams = moved.keys.sorted()
        versions = streams.map { moved[$0] ?? 0 }
        seen = streams.map { probed[$0] != nil }
    }
}

/// What a committed saga transaction started and finished, for the metrics.
struct SagaCounts: Sendable {
    var started = 0
    var finished: [String] = []
    /// Commands and dead letters written to `sagas.outbox` (the relay is woken when any were).
    var outboxRows = 0
    /// Each event that moved an instance on: the step it reached and how long after the event
    /// was recorded (`saga_step_seconds`).
    var steps: [(step: String, seconds: Double)] = []

    /// Counts the committed transaction in the metrics, and wakes this process's command relay
    /// when it wrote outbox rows.
    func record(saga: String) {
        if outboxRows > 0 { OutboxDoorbell.named(SagaCommandRelay.channel).ring() }
        if started > 0 { Counter(label: "sagas_started_total", dimensions: [("saga", saga)]).increment(by: started) }
        for outcome in finished { Counter(label: "sagas_finished_total", dimensions: [("saga", saga), ("outcome", outcome)]).increment() }
        for (step, seconds) in steps {
            Metrics.Timer(label: "saga_step_seconds", dimensions: [("saga", saga), ("step", step)]).recordNanoseconds(Int64(seconds * 1e9))
        }
    }
}

extension SagaChanges.Cause {
    /// An event, as the history names it.
    init(_ event: RecordedEvent) {
        self.init(kind: "event", detail: "\(event.type) from \(event.streamID)@\(event.streamVersion)", causationID: event.eventID.uuidString)
    }
}

/// The saga store's write, prepared once per connection (every saga definition's: the name is
/// a bind).
enum SagaWriteStatement: PreparedQueryTag {
    static let statementName = "sagas_write_changes"
    static let text = PreparedQueryText()
}

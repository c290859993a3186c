import EventSourcing
public import Foundation
import Kafka
import Logging
import Metrics
import PostgresNIO
import Tracing

/// What the deadline scheduler asks before a deadline fires: was the step's work consumed, or
/// is it still queued? A deadline is for silence (a participant that got the command and did
/// not answer), not for queueing: time a command spends in the outbox or in its topic ahead of
/// the command group's position is not a reason to send it again, nor to compensate.
public struct DeadlineWatch: Sendable {
    public let consumption: CommandConsumption
    /// A held command type (a drill switch) stands for a participant that stays silent.
    public let hold: CommandHold
    /// How soon a deadline postponed for a queued command is looked at again.
    public var recheck: Duration

    public init(consumption: CommandConsumption, hold: CommandHold, recheck: Duration = .seconds(1)) {
        self.consumption = consumption
        self.hold = hold
        self.recheck = recheck
    }

    /// A command of the step's send, as the outbox has it (no partition: not published yet).
    struct SentCommand {
        var type: String
        var topic: String
        var published: Bool
        /// Where it landed (nil: not published, or published by a relay that did not keep it).
        var partition: Int32?
        var offset: Int64?
    }

    enum Verdict: Equatable {
        case fire
        /// `queued`: a command is still waiting to be consumed; otherwise the last one was
        /// consumed less than the step's wait ago.
        case postpone(until: Date, queued: Bool)
    }

    /// Fires only when every command of the send was consumed at least `wait` ago (or is held);
    /// a send whose rows were pruned was consumed long ago.
    func verdict(for commands: [SentCommand], wait: Duration, now: Date) -> Verdict {
        var lastConsumed: Duration?
        for command in commands {
            guard let partition = command.partition, let offset = command.offset else {
                // Published by a relay that kept no landing (before migration 7): as before,
                // the deadline counts from the send.
                if command.published || hold.heldTypes.contains(command.type) { continue }
                return .postpone(until: now + recheck, queued: true)
            }
            switch consumption.progress(of: KafkaTopicPartition(topic: command.topic, partition: partition), offset: offset) {
            case .queued: return .postpone(until: now + recheck, queued: true)
            case .consumedBeforeWatching: continue
            case .consumed(let ago): lastConsumed = min(lastConsumed ?? ago, ago)
            }
        }
        if let lastConsumed, wait > lastConsumed { return .postpone(until: now + (wait - lastConsumed), queued: false) }
        return .fire
    }
}

extension SagaStore {
    /// What one round of due deadlines did.
    public struct DeadlineRound: Sendable, Equatable {
        public var fired = 0
        /// Looked at again later: a command still queued, or consumed too recently.
        public var postponed = 0
        public var looked: Int { fired + postponed }

        public init(fired: Int = 0, postponed: Int = 0) {
            self.fired = fired
            self.postponed = postponed
        }
    }

    /// Fires the deadlines that have passed (up to `limit`), each instance locked so that
    /// concurrent orchestrators never fire the same one. With a `deadlineWatch`, a deadline
    /// whose step's commands are still queued, or were consumed less than the step's wait ago,
    /// is moved instead (no history, no resend): the step's clock runs from consumption.
    public func fireDueDeadlines(limit: Int = 100, now givenNow: Date? = nil) async throws -> DeadlineRound {
        let definition = self.definition
        let watch = deadlineWatch
        let (round, counts) = try await retryingConflicts {
            try await transaction { connection in
                let now: Date
                if let givenNow { now = givenNow } else { now = try await databaseNow(on: connection) }
                let rows = try await connection.query(
                    """
                    SELECT correlation_id, state::text, status, step, deadline_at, error, deadline_wait_ms, coalesce(deadline_commands, '{}')
                    FROM sagas.instances
                    WHERE saga = \(definition.name) AND status = 'running' AND deadline_at <= \(now)
                    ORDER BY deadline_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
                    """, logger: logger
                ).collect()
                var instances: [String: Changes.Working] = [:]
                var sends: [String: (wait: Duration, positions: [Int64])] = [:]
                for row in rows {
                    let (correlationID, stateText, status, step, deadline, error, waitMilliseconds, positions) =
                        try row.decode((String, String, String, String, Date?, String?, Int64?, [Int64]).self)
                    do {
                        instances[correlationID] = try Changes.working(stateText: stateText, status: status, step: step, deadline: deadline, error: error)
                        if let waitMilliseconds { sends[correlationID] = (.milliseconds(waitMilliseconds), positions) }
                    } catch {
                        // One unreadable instance must not stop every other deadline.
                        _ = try await connection.query(
                            """
                            UPDATE sagas.instances SET status = 'failed', error = \("unreadable state: \(error)"), deadline_at = NULL, updated_at = now()
                            WHERE saga = \(definition.name) AND correlation_id = \(correlationID)
                            """, logger: logger
                        ).collect()
                    }
                }
                var round = DeadlineRound()
                if let watch {
                    let postponed = try await postponements(of: sends, watch: watch, now: now, on: connection)
                    for id in postponed.keys { instances[id] = nil }
                    round.postponed = postponed.count
                }
                var changes = Changes(definition: definition, instances: instances)
                for (correlationID, current) in instances.sorted(by: { $0.key < $1.key }) {
                    guard let state = current.state else { continue }
                    // The deadline's own span: the commands it sends carry its trace.
                    let span = startSpan("saga deadline \(definition.name)", context: .topLevel)
                    span.updateAttributes { attributes in
                        attributes["saga.correlation_id"] = correlationID
                        attributes["saga.step"] = current.step
                    }
                    defer { span.end() }
                    changes.save(
                        definition.deadlinePassed(in: state, now: now), correlationID,
                        cause: .init(
                            kind: "deadline", detail: "deadline passed in step \(current.step)", traceHeaders: TraceHeaders.jsonText(of: span.context)),
                        now: now)
                    round.fired += 1
                }
                try await changes.write(arrivals: .none, on: connection, logger: logger)
                return (round, changes.counts)
            }
        }
        counts.record(saga: definition.name)
        return round
    }

    /// Which due instances wait longer, and until when (their `deadline_at` is moved in the
    /// same transaction): the watch's verdict on the commands their step sent.
    private func postponements(
        of sends: [String: (wait: Duration, positions: [Int64])], watch: DeadlineWatch, now: Date, on connection: PostgresConnection
    ) async throws -> [String: Date] {
        let positions = sends.values.flatMap(\.positions)
        var sent: [Int64: DeadlineWatch.SentCommand] = [:]
        if !positions.isEmpty {
            for row in try await connection.query(
                "SELECT position, command_type, topic, published_at IS NOT NULL, kafka_partition, kafka_offset FROM sagas.outbox WHERE position = ANY(\(positions))",
                logger: logger
            ).collect() {
                let (position, type, topic, published, partition, offset) = try row.decode((Int64, String, String, Bool, Int32?, Int64?).self)
                sent[position] = DeadlineWatch.SentCommand(type: type, topic: topic, published: published, partition: partition, offset: offset)
            }
        }
        var postponed: [String: Date] = [:]
        var queued = 0
        for (id, send) in sends {
            guard case .postpone(let until, let isQueued) = watch.verdict(for: send.positions.compactMap { sent[$0] }, wait: send.wait, now: now) else {
                continue
            }
            postponed[id] = until
            if isQueued { queued += 1 }
        }
        guard !postponed.isEmpty else { return [:] }
        let ids = postponed.keys.sorted()
        _ = try await connection.query(
            """
            UPDATE sagas.instances t SET deadline_at = p.until
            FROM unnest(\(ids)::text[], \(ids.map { postponed[$0] ?? now })::timestamptz[]) AS p(id, until)
            WHERE t.saga = \(definition.name) AND t.correlation_id = p.id
            """, logger: logger
        ).collect()
        Counter(label: "saga_deadlines_postponed_total", dimensions: [("saga", definition.name), ("reason", "queued")]).increment(by: queued)
        Counter(label: "saga_deadlines_postponed_total", dimensions: [("saga", definition.name), ("reason", "consumed_recently")])
            .increment(by: postponed.count - queued)
        return postponed
    }
}

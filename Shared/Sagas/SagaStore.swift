public import EventSourcing
import EventStore
public import Foundation
public import Instrumentation
public import Kafka
public import Logging
import Metrics
public import PostgresNIO
import ServiceSupport
import Tracing

/// Stores the instances of one saga definition and advances them. A batch of events (many
/// instances), a round of due deadlines or an operator's retry is handled in ONE transaction of
/// two statements: the first reads the clock and locks the events' stream arrival positions
/// (which recognise redeliveries) and the instance rows in a stable sequence; every reaction is
/// computed in memory (`SagaChanges`); the second moves the arrival positions and writes
/// instances, commands and history. A crash at any point
/// leaves either all of it or none; a deadlock or a concurrent first arrival retries the whole.
public struct SagaStore<Definition: SagaDefinition>: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// The saga does not care about this event.
        case ignored
        /// Handled before (a redelivery): nothing changed.
        case duplicate
        case advanced(status: SagaStatus, commands: Int)
        /// The definition could not handle it (its `start` or `react` threw: a type or version
        /// this code does not know, a payload it cannot read): the event is kept with its
        /// instance, which is failed with `reason` (created failed if it had not started), until
        /// an operator's retry; its dead-letter copy is written to the outbox in the same
        /// transaction.
        case refused(reason: String)
        /// Ahead of a gap in its stream that the event store cannot fill either: held back,
        /// nothing changed.
        case heldBack(expectedVersion: Int64)
        /// Its instance holds a refused event: kept with the instance, behind that one, for the
        /// operator's retry.
        case heldBehindRefused
    }

    public let definition: Definition
    let client: PostgresClient
    let logger: Logger
    /// Where refused events are copied (nil: kept with their instance only).
    public var deadLetters: SagaDeadLetterRoute?
    /// What tells a queued command from a silent participant (nil: a deadline fires when it
    /// passes, as the definition set it).
    public var deadlineWatch: DeadlineWatch?
    /// Bounds this process's saga transactions and lets batches that only move running
    /// instances on go before starts (nil: every batch goes at once).
    public var writeGate: SagaWriteGate?
    /// Runs inside a batch's transaction after the arrival positions were read and before they
    /// move: tests use it to let another transaction in at that moment.
    public var afterArrivalProbe: @Sendable () async throws -> Void = {}

    public init(definition: Definition, client: PostgresClient, logger: Logger) {
        self.definition = definition
        self.client = client
        self.logger = logger
    }

    typealias Changes = SagaChanges<Definition>

    /// Which of `ids` the event store holds (one query, none when there is nothing to ask).
    static func storedEventIDs(_ ids: [UUID], on connection: PostgresConnection, logger: Logger) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        var stored: Set<UUID> = []
        for row in try await connection.query("SELECT event_id FROM event_store.events WHERE event_id = ANY(\(ids))", logger: logger).collect() {
            stored.insert(try row.decode(UUID.self))
        }
        return stored
    }

    /// One event (see the batch form).
    public func handle(_ event: RecordedEvent, now givenNow: Date? = nil) async throws -> Outcome {
        try await handle([event], now: givenNow).first ?? .ignored
    }

    /// Handles a batch of events (each stream's events by version), one outcome per event.
    /// `now` defaults to the database's clock (every time the saga keeps is taken from it, so
    /// orchestrators on hosts whose clocks differ agree on when a deadline passed).
    ///
    /// Each stream must arrive in sequence: an event at or below the stream's arrival position is
    /// a redelivery; one above it + 1 is ahead of a gap (the relay lost a send, or the log lost
    /// the event), and the missing events are read from the event store and handled first, in
    /// the same transaction, or the event is held back if the store cannot fill the gap. Events
    /// recorded before the saga's arrival positions existed count as handled then (migration 2).
    ///
    /// `records` are the Kafka records the events came from (same sequence), copied to the
    /// dead-letter topic (`deadLetters`) when their event is refused; an event without one (read
    /// from the event store to fill a gap) is copied as the event relay would publish it.
    ///
    /// `traces` are the contexts the events are handled in (the consumer's record spans, same
    /// sequence): the commands an event's step sends store its context and carry it onwards.
    public func handle(
        _ events: [RecordedEvent], records: [KafkaConsumedMessage] = [], traces: [InstrumentationContext] = [], now givenNow: Date? = nil
    ) async throws -> [Outcome] {
        guard !events.isEmpty else { return [] }
        let traced = !traces.isEmpty && TraceHeaders.isTracing
        let lane: SagaWriteGate.Lane = events.contains { definition.mayStart($0) } ? .starting : .finishing
        let (outcomes, counts) = try await retryingConflicts {
            try await gated(lane) { try await transaction { connection in
                let streams = Array(Set(events.map(\.streamID))).sorted()
                let correlationIDs = Set(events.compactMap { definition.correlationID(of: $0) })
                let probe = try await arrivalProbe(of: streams, instances: correlationIDs, on: connection)
                let (now, epoch, positions) = (probe.now, probe.epoch, probe.positions)
                try await afterArrivalProbe()
                var arrived = positions
                var moved: [String: Int64] = [:]
                var outcomes = [Outcome](repeating: .ignored, count: events.count)
                var inOrder: [(index: Int, event: RecordedEvent)] = []
                let storedFromBefore = try await Self.storedEventIDs(
                    events.filter { arrived[$0.streamID] == nil && $0.recordedAt < epoch }.map(\.eventID), on: connection, logger: logger)
                for (index, event) in events.enumerated() {
                    let last = arrived[event.streamID]
                    if let last, event.streamVersion <= last {
                        outcomes[index] = .duplicate
                        continue
                    }
                    let expected = (last ?? 0) + 1
                    var chain = [event]
                    // Only an event the store holds: a record claiming an old time (anyone can
                    // write one) would otherwise set the stream's position to any version.
                    let firstSeenFromBefore = last == nil && event.recordedAt < epoch && storedFromBefore.contains(event.eventID)
                    if event.streamVersion > expected && !firstSeenFromBefore {
                        guard let missing = try await StreamGap.fill(before: event, after: expected - 1, on: connection, logger: logger) else {
                            outcomes[index] = .heldBack(expectedVersion: expected)
                            continue
                        }
                        logger.warning(
                            "event ahead of a gap in its stream: missing events read from the event store",
                            metadata: MessageContext(of: event).metadata.merging(["version": "\(event.streamVersion)", "filled": "\(missing.count)"]) { $1 })
                        chain = missing.filter { $0.recordedAt >= epoch } + [event]
                    }
                    arrived[event.streamID] = event.streamVersion
                    moved[event.streamID] = event.streamVersion
                    inOrder += chain.map { (index, $0) }
                }
                // Events read to fill a gap may belong to instances the probe did not lock.
                var instances = probe.instances
                let unloaded = Set(inOrder.compactMap { definition.correlationID(of: $0.event) }).subtracting(correlationIDs)
                if !unloaded.isEmpty {
                    instances.merge(try await Changes.load(Array(unloaded), definition: definition, on: connection, logger: logger)) { old, _ in old }
                }
                try await Changes.refreshParked(&instances, saga: definition.name, on: connection, logger: logger)
                var changes = Changes(definition: definition, instances: instances)
                for (index, event) in inOrder {
                    // The step's span, in its event's trace: the commands it sends store it. An event
                    // read to fill a gap continues its own stored trace, not the arrival's.
                    let arrived = events[index].eventID == event.eventID
                    let step =
                        traced && index < traces.count
                        ? startSpan("saga step \(definition.name)", context: arrived ? traces[index] : TraceHeaders.context(from: event.metadata)) : nil
                    let outcome = changes.react(
                        to: event, now: givenNow ?? now, traceHeaders: step.map { TraceHeaders.jsonText(of: $0.context) } ?? "", logger: logger)
                    if let step {
                        step.updateAttributes { attributes in
                            attributes["saga.correlation_id"] = definition.correlationID(of: event)
                            attributes["saga.event_type"] = event.type
                            attributes["saga.outcome"] = "\(outcome)"
                        }
                        step.end()
                    }
                    outcomes[index] = outcome
                    guard case .refused(let reason) = outcome, let deadLetters, let correlationID = definition.correlationID(of: event) else { continue }
                    let record = events[index].eventID == event.eventID && index < records.count ? records[index] : nil
                    changes.deadLetter(deadLetters.letter(for: event, from: record, reason: reason), of: correlationID, causationID: event.eventID.uuidString)
                }
                let arrivals = ArrivalMoves(moved: moved, seen: positions)
                guard try await changes.write(arrivals: arrivals, on: connection, logger: logger) == arrivals.count else {
                    throw ConcurrentArrival()
                }
                return (outcomes, changes.counts)
            } }
        }
        counts.record(saga: definition.name)
        return outcomes
    }

    /// What a batch's transaction reads first, in one statement: the database's clock, when
    /// arrival positions began, the arrival positions of `streams` and the instances named by
    /// `correlationIDs` (rows locked, positions in stream sequence, then instances in correlation
    /// id: a stable sequence, so that transactions sharing rows wait instead of deadlocking).
    private func arrivalProbe(
        of streams: [String], instances correlationIDs: Set<String>, on connection: PostgresConnection
    ) async throws -> (now: Date, epoch: Date, positions: [String: Int64], instances: [String: Changes.Working]) {
        var clock: (now: Date, epoch: Date)?
        var positions: [String: Int64] = [:]
        var instances: [String: Changes.Working] = [:]
        for row in try await connection.prepared(
            """
            WITH positions AS (
                SELECT stream_id, version FROM sagas.stream_positions WHERE saga = \(definition.name) AND stream_id = ANY(\(streams))
                ORDER BY stream_id FOR UPDATE
            ), instances AS (
                SELECT correlation_id, state::text AS state, status, step, deadline_at, error, \(unescaped: Changes.parkedCount) AS parked
                FROM sagas.instances i
                WHERE saga = \(definition.name) AND correlation_id = ANY(\(correlationIDs.sorted()))
                ORDER BY correlation_id FOR UPDATE
            )
            SELECT 0, now(), coalesce((SELECT min(started_at) FROM sagas.arrival_epoch), '-infinity'),
                   NULL::text, NULL::int8, NULL::text, NULL::text, NULL::text, NULL::timestamptz, NULL::text
            UNION ALL SELECT 1, NULL, NULL, stream_id, version, NULL, NULL, NULL, NULL, NULL FROM positions
            UNION ALL SELECT 2, NULL, NULL, correlation_id, parked, state, status, step, deadline_at, error FROM instances
            """, as: ArrivalProbeStatement.self, logger: logger
        ) {
            // Column 5 is a stream's arrival position (kind 1) or an instance's parked events (kind 2).
            let (kind, now, epoch, id, number, state, status, step, deadline, error) = try row.decode(
                (Int32, Date?, Date?, String?, Int64?, String?, String?, String?, Date?, String?).self)
            switch (kind, now, epoch, id, number, state, status, step) {
            case (0, let now?, let epoch?, _, _, _, _, _): clock = (now, epoch)
            case (1, _, _, let stream?, let version?, _, _, _): positions[stream] = version
            case (2, _, _, let id?, let parked?, let state?, let status?, let step?):
                instances[id] = try Changes.working(stateText: state, status: status, step: step, deadline: deadline, error: error, parked: parked)
            default: throw SagaStoreError(reason: "the arrival probe returned an unreadable row")
            }
        }
        guard let clock else { throw SagaStoreError(reason: "the clock query returned no row") }
        return (clock.now, clock.epoch, positions, instances)
    }

    /// A concurrent transaction (a partition's old owner during a rebalance) received one of the
    /// batch's events first: the batch is retried, and then sees them as redeliveries.
    struct ConcurrentArrival: Error {}

    /// Runs `body` again (up to five times, after a short random pause) when it lost a race that
    /// a retry resolves: a deadlock, a serialization failure, a concurrent first arrival or a
    /// concurrent start of the same instance.
    func retryingConflicts<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error where attempt < 5 && Self.isConflict(error) {
                attempt += 1
                logger.info("saga transaction lost a race; retrying it", metadata: ["error": "\(DatabaseErrors.describe(error))"])
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...50)))
            }
        }
    }

    static func isConflict(_ error: any Error) -> Bool {
        if error is ConcurrentArrival { return true }
        if let transaction = error as? PostgresTransactionError, transaction.closureError is ConcurrentArrival { return true }
        return DatabaseErrors.isTransient(error) || DatabaseErrors.sqlState(of: error) == "23505"
    }

    /// The database's clock. Deadlines are set and compared by it.
    func databaseNow(on connection: PostgresConnection) async throws -> Date {
        guard let now = try await connection.query("SELECT now()", logger: logger).collect().first?.decode(Date.self) else {
            throw SagaStoreError(reason: "SELECT now() returned no row")
        }
        return now
    }

    public struct NotRetryable: Error, CustomStringConvertible, Sendable {
        public var correlationID: String
        public var status: String?
        public var description: String {
            status.map { "saga \(correlationID) is \($0); only a failed saga can be retried" } ?? "no saga \(correlationID)"
        }
    }

    /// An operator's retry of a failed instance: the definition's `retry` of its step, then the
    /// events kept with it (a refused one and those behind it) handed to the definition again as
    /// they arrived, by the code running now (an upgrade may read what the old code refused).
    /// Those it handles are let go; the first it refuses again stays, with the rest behind it,
    /// and the instance stays failed with the new reason.
    public func retry(_ correlationID: String, operator name: String, now givenNow: Date? = nil) async throws -> SagaStatus {
        let definition = self.definition
        let (status, counts) = try await transaction { connection in
            let now: Date
            if let givenNow { now = givenNow } else { now = try await databaseNow(on: connection) }
            let instances = try await Changes.load([correlationID], definition: definition, on: connection, logger: logger)
            guard var current = instances[correlationID], current.status == .failed else {
                throw NotRetryable(correlationID: correlationID, status: instances[correlationID]?.status.rawValue)
            }
            let parked = try await ParkedEvents.read(saga: definition.name, correlationID: correlationID, on: connection, logger: logger)
            // The events are handed over here, not parked behind themselves again.
            current.parked = 0
            var changes = Changes(definition: definition, instances: [correlationID: current])
            let cause = Changes.Cause(kind: "operator", detail: "retried by \(name)" + (parked.isEmpty ? "" : "; handing over \(parked.count) kept event(s)"))
            if let state = current.state {
                changes.save(definition.retry(state, now: now), correlationID, cause: cause, now: now)
            } else {
                changes.note(cause, of: correlationID)
            }
            var handedOver: Int64?
            for (seq, event) in parked {
                if case .refused = changes.handOver(event, of: correlationID, now: now, cause: Changes.Cause(event), logger: logger) { break }
                handedOver = seq
            }
            if let handedOver { try await ParkedEvents.release(saga: definition.name, correlationID: correlationID, through: handedOver, on: connection, logger: logger) }
            try await changes.write(arrivals: .none, on: connection, logger: logger)
            return (changes.instances[correlationID]?.status ?? .failed, changes.counts)
        }
        counts.record(saga: definition.name)
        return status
    }

    /// `body` through the write gate, when there is one.
    private func gated<T>(_ lane: SagaWriteGate.Lane, _ body: () async throws -> T) async throws -> T {
        guard let writeGate else { return try await body() }
        return try await writeGate.pass(lane, body)
    }

    /// One transaction on a live connection (see `liveTransaction`).
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await client.liveTransactionUnwrapped(logger: logger, body)
    }
}

/// The saga store could not read what it just asked PostgreSQL for.
public struct SagaStoreError: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public var description: String { "saga store: \(reason)" }
}

/// The saga store's first read of a batch, prepared once per connection.
enum ArrivalProbeStatement: PreparedQueryTag {
    static let statementName = "sagas_arrival_probe"
    static let text = PreparedQueryText()
}

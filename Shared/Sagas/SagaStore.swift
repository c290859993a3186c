public import EventSourcing
import EventStore
public import Foundation
public import Logging
import Metrics
public import PostgresNIO
import ServiceSupport

/// Stores the instances of one saga definition and advances them. A batch of events (many
/// instances), a round of due deadlines or an operator's retry is handled in ONE transaction:
/// it moves the events' stream arrival positions (which also recognises redeliveries), locks
/// the instance rows in a stable order, computes every reaction in memory (`SagaChanges`) and
/// writes instances, commands and history with one statement per table. A crash at any point
/// leaves either all of it or none; a deadlock or a concurrent first arrival retries the whole.
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
    /// Runs inside a batch's transaction after the arrival positions were read and before they
    /// move: tests use it to let another transaction in at that moment.
    public var afterArrivalProbe: @Sendable () async throws -> Void = {}

    public init(definition: Definition, client: PostgresClient, logger: Logger) {
        self.definition = definition
        self.client = client
        self.logger = logger
    }

    typealias Changes = SagaChanges<Definition>

    /// One event (see the batch form).
    public func handle(_ event: RecordedEvent, now givenNow: Date? = nil) async throws -> Outcome {
        try await handle([event], now: givenNow).first ?? .ignored
    }

    /// Handles a batch of events (each stream's events in version order), one outcome per event.
    /// `now` defaults to the database's clock (every time the saga keeps is taken from it, so
    /// orchestrators on hosts whose clocks differ agree on when a deadline passed).
    ///
    /// Each stream must arrive in order: an event at or below the stream's arrival position is
    /// a redelivery; one above it + 1 is ahead of a gap (the relay lost a send, or the log lost
    /// the event), and the missing events are read from the event store and handled first, in
    /// the same transaction, or the event is held back if the store cannot fill the gap. Events
    /// recorded before the saga's arrival positions existed count as handled then (migration 2).
    public func handle(_ events: [RecordedEvent], now givenNow: Date? = nil) async throws -> [Outcome] {
        guard !events.isEmpty else { return [] }
        let (outcomes, counts) = try await retryingConflicts {
            try await transaction { connection in
                let streams = Array(Set(events.map(\.streamID))).sorted()
                let (now, epoch, positions) = try await arrivalProbe(of: streams, on: connection)
                try await afterArrivalProbe()
                var arrived = positions
                var moved: [String: Int64] = [:]
                var outcomes = [Outcome](repeating: .ignored, count: events.count)
                var inOrder: [(index: Int, event: RecordedEvent)] = []
                for (index, event) in events.enumerated() {
                    let last = arrived[event.streamID]
                    if let last, event.streamVersion <= last {
                        outcomes[index] = .duplicate
                        continue
                    }
                    let expected = (last ?? 0) + 1
                    var chain = [event]
                    let firstSeenFromBefore = last == nil && event.recordedAt < epoch
                    if event.streamVersion > expected && !firstSeenFromBefore {
                        let missing = try await PostgresEventStore.events(
                            of: event.streamID, after: expected - 1, before: event.streamVersion, on: connection, logger: logger)
                        guard missing.map(\.streamVersion) == Array(expected..<event.streamVersion) else {
                            outcomes[index] = .heldBack(expectedVersion: expected)
                            continue
                        }
                        logger.warning(
                            "event ahead of a gap in its stream: missing events read from the event store",
                            metadata: ["stream": "\(event.streamID)", "version": "\(event.streamVersion)", "filled": "\(missing.count)"])
                        chain = missing.filter { $0.recordedAt >= epoch } + [event]
                    }
                    arrived[event.streamID] = event.streamVersion
                    moved[event.streamID] = event.streamVersion
                    inOrder += chain.map { (index, $0) }
                }
                try await moveArrivals(moved, seen: positions, on: connection)
                let instances = Set(inOrder.compactMap { definition.correlationID(of: $0.event) })
                var changes = Changes(
                    definition: definition, instances: try await Changes.load(Array(instances), definition: definition, on: connection, logger: logger))
                for (index, event) in inOrder { outcomes[index] = changes.react(to: event, now: givenNow ?? now, logger: logger) }
                try await changes.write(on: connection, logger: logger)
                return (outcomes, changes.counts)
            }
        }
        counts.record(saga: definition.name)
        return outcomes
    }

    /// The arrival positions of `streams` (rows locked, in stream order), the database's clock
    /// and when arrival positions began.
    private func arrivalProbe(of streams: [String], on connection: PostgresConnection) async throws -> (now: Date, epoch: Date, positions: [String: Int64]) {
        guard
            let (now, epoch) = try await connection.query(
                "SELECT now(), coalesce((SELECT min(started_at) FROM sagas.arrival_epoch), '-infinity')", logger: logger
            ).collect().first?.decode((Date, Date).self)
        else { throw SagaStoreError(reason: "the clock query returned no row") }
        var positions: [String: Int64] = [:]
        for row in try await connection.query(
            """
            SELECT stream_id, version FROM sagas.stream_positions WHERE saga = \(definition.name) AND stream_id = ANY(\(streams))
            ORDER BY stream_id FOR UPDATE
            """, logger: logger
        ).collect() {
            let (stream, version) = try row.decode((String, Int64).self)
            positions[stream] = version
        }
        return (now, epoch, positions)
    }

    /// A concurrent transaction (a partition's old owner during a rebalance) received one of the
    /// batch's events first: the batch is retried, and then sees them as redeliveries.
    struct ConcurrentArrival: Error {}

    /// Moves the streams' arrival positions from what the probe saw (`seen`, rows it locked) to
    /// `moved`. A stream the probe saw no row for is inserted, and only inserted: if another
    /// transaction inserted it meanwhile, that one received these events first, and the batch
    /// is retried (and then sees them as redeliveries).
    private func moveArrivals(_ moved: [String: Int64], seen: [String: Int64], on connection: PostgresConnection) async throws {
        guard !moved.isEmpty else { return }
        let streams = moved.keys.sorted()
        let rows = try await connection.query(
            """
            WITH u AS (SELECT * FROM unnest(\(streams)::text[], \(streams.map { moved[$0] ?? 0 })::int8[], \(streams.map { seen[$0] != nil })::bool[])
                         AS u(stream_id, version, seen)),
                 inserted AS (
                     INSERT INTO sagas.stream_positions (saga, stream_id, version)
                     SELECT \(definition.name), stream_id, version FROM u WHERE NOT seen
                     ON CONFLICT (saga, stream_id) DO NOTHING
                     RETURNING 1),
                 updated AS (
                     UPDATE sagas.stream_positions p SET version = u.version FROM u
                     WHERE u.seen AND p.saga = \(definition.name) AND p.stream_id = u.stream_id AND p.version < u.version
                     RETURNING 1)
            SELECT (SELECT count(*) FROM inserted) + (SELECT count(*) FROM updated)
            """, logger: logger
        ).collect()
        let count = try rows.first?.decode(Int64.self) ?? 0
        guard count == Int64(streams.count) else { throw ConcurrentArrival() }
    }

    /// Runs `body` again (up to five times, after a short random pause) when it lost a race that
    /// a retry resolves: a deadlock, a serialization failure, a concurrent first arrival or a
    /// concurrent start of the same instance.
    private func retryingConflicts<T: Sendable>(_ body: () async throws -> T) async throws -> T {
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
        let (fired, counts) = try await retryingConflicts {
            try await transaction { connection in
                let now: Date
                if let givenNow { now = givenNow } else { now = try await databaseNow(on: connection) }
                let rows = try await connection.query(
                    """
                    SELECT correlation_id, state::text, status, step, deadline_at, error FROM sagas.instances
                    WHERE saga = \(definition.name) AND status = 'running' AND deadline_at <= \(now)
                    ORDER BY deadline_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
                    """, logger: logger
                ).collect()
                var instances: [String: Changes.Working] = [:]
                for row in rows {
                    let (correlationID, stateText, status, step, deadline, error) = try row.decode((String, String, String, String, Date?, String?).self)
                    do {
                        instances[correlationID] = try Changes.working(stateText: stateText, status: status, step: step, deadline: deadline, error: error)
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
                var changes = Changes(definition: definition, instances: instances)
                for (correlationID, current) in instances.sorted(by: { $0.key < $1.key }) {
                    changes.save(
                        definition.deadlinePassed(in: current.state, now: now), correlationID,
                        cause: .init(kind: "deadline", detail: "deadline passed in step \(current.step)"))
                }
                try await changes.write(on: connection, logger: logger)
                return (rows.count, changes.counts)
            }
        }
        counts.record(saga: definition.name)
        return fired
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
        let (status, counts) = try await transaction { connection in
            let now: Date
            if let givenNow { now = givenNow } else { now = try await databaseNow(on: connection) }
            let instances = try await Changes.load([correlationID], definition: definition, on: connection, logger: logger)
            guard let current = instances[correlationID], current.status == .failed else {
                throw NotRetryable(correlationID: correlationID, status: instances[correlationID]?.status.rawValue)
            }
            var changes = Changes(definition: definition, instances: instances)
            let reaction = definition.retry(current.state, now: now)
            changes.save(reaction, correlationID, cause: .init(kind: "operator", detail: "retried by \(name)"))
            try await changes.write(on: connection, logger: logger)
            return (changes.instances[correlationID]?.status ?? reaction.status, changes.counts)
        }
        counts.record(saga: definition.name)
        return status
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

import EventSourcing
import EventStore
import Foundation
import ConsumerRuntime
import Kafka
import Logging
import Metrics
import PostgresNIO
import ServiceSupport

/// Applies one partition's records to the projections in one transaction, with the
/// partition's checkpoint, and parks what keeps failing.
struct PartitionBatchWriter: Sendable {
    let processor: String
    let instanceID: String
    let projections: [any Projection]
    let retry: RetryPolicy
    let logger: Logger
    /// Runs once the batch has read its checkpoint and stream positions, before it writes:
    /// tests hold two members there to overlap their first batches of a partition.
    var afterReadingPositions: @Sendable () async throws -> Void = {}
    let versionGaps = Counter(label: "projection_version_gaps_total")
    let gapsFilled = Counter(label: "projection_gap_events_read_total")

    /// The processor's own row in `stream_positions`: the last version of each stream it
    /// received in sequence, whatever projections did with it.
    var arrivalKey: String { "@" + processor }

    /// Outcome of one batch.
    enum Outcome {
        /// Applied; the checkpoint is now `nextOffset`. `parked` were dead-lettered.
        case committed(nextOffset: Int64, applied: Int, skipped: Int, parked: [ParkedEvent])
        /// Nothing new: every record was below the checkpoint.
        case nothingNew
        /// The checkpoint is not where this batch starts (another owner moved it, or this one is
        /// a zombie): nothing was written; read again from `checkpoint`.
        case fenced(checkpoint: Int64)
    }

    struct ParkedEvent: Sendable {
        var record: KafkaConsumedMessage
        var reason: String
    }

    struct Fenced: Error { var checkpoint: Int64 }

    /// `careful` applies each event under a savepoint (to find and park a failing one); the
    /// fast path applies the batch straight and falls back to careful on any failure.
    func write(_ deliveries: [Delivery<DecodedEvent>], on connection: PostgresConnection, careful: Bool) async throws -> Outcome {
        guard let first = deliveries.first?.record else { return .nothingNew }
        let topic = first.topic
        let partition = first.partition
        // A paused instance (SIGSTOP, long GC, lost network) must not hold the new owner's rows
        // forever: every connection ends a transaction left idle and bounds its lock waits
        // (`TransactionBounds`, set when it opens), so this batch needs no statement of its own.
        let checkpoint = try await connection.query(
            """
            SELECT next_offset FROM read_models.checkpoints
            WHERE processor = \(processor) AND topic = \(topic) AND partition = \(Int32(partition)) FOR UPDATE
            """, logger: logger
        ).collect().first?.decode(Int64.self)
        var fresh = deliveries.filter { $0.record.offset >= (checkpoint ?? 0) }
        guard let start = fresh.first?.record else { return .nothingNew }
        if let checkpoint, start.offset != checkpoint { return .fenced(checkpoint: checkpoint) }
        fresh = try await withStoredTimes(fresh, on: connection)

        // Only stream ids PostgreSQL can key on (no NUL, the store's length): a record with
        // another is parked below; sent to the database, it would fail the whole batch forever.
        let streams = fresh.compactMap { delivery -> String? in
            guard case .event(let event) = delivery.item, StorableText.streamIDProblem(event.streamID) == nil else { return nil }
            return event.streamID
        }
        var state = try await BatchState.load(streams: streams, projections: projections, arrivalKey: arrivalKey, on: connection, logger: logger)
        try await afterReadingPositions()
        var applied = 0
        var skipped = 0
        var parked: [ParkedEvent] = []
        // The fast path gathers each projection's new events and applies them at the end, in
        // one call per projection (set-based writes); the careful path applies them one by one.
        var pending: [String: [RecordedEvent]] = [:]
        for delivery in fresh {
            let record = delivery.record
            let event: RecordedEvent
            switch delivery.item {
            case .event(let decoded):
                if let problem = StorableText.streamIDProblem(decoded.streamID) {
                    let reason = "stream-id: \(StorableText.escaped(decoded.streamID, limit: 100)) \(problem)"
                    try await park(record, event: nil, projection: "*", error: reason, attempts: 1, blockedBy: nil, on: connection)
                    parked.append(ParkedEvent(record: record, reason: reason))
                    continue
                }
                event = decoded
            case .unreadable(let reason):
                // No envelope: nothing can apply it. Park it for every projection to see.
                try await park(record, event: nil, projection: "*", error: reason, attempts: 1, blockedBy: nil, on: connection)
                parked.append(ParkedEvent(record: record, reason: reason))
                continue
            }
            // An event ahead of a gap in its stream (an earlier one has not arrived: the relay
            // lost a send and will resend both in sequence, or the log lost it) is never applied
            // out of sequence: the missing events are read from the event store and applied first.
            // Their copies, when the relay's resend brings them, are redeliveries. When the
            // store cannot fill the gap (a lost send of events the store does not hold yet, or a
            // version no stream has), the event is parked for the processor (it blocks no
            // projection) and resolved by itself if a copy arrives in sequence.
            //
            // The gap is per projection: each has what its own position says, or what the
            // processor received in sequence (its arrival row) where that is further. After a
            // rebuild one projection is ahead of its siblings, and that says nothing about theirs.
            // The missing events are read from the arrival row on, which also brings it up.
            let takers = projections.filter { $0.eventTypes.contains(event.type) || $0.streamTypes.contains(event.streamType) }
            let furthestBehind = takers.map { state.received(event.streamID, by: $0.name) }.min() ?? event.streamVersion
            let inOrder: [RecordedEvent]
            switch event.streamVersion - 1 > furthestBehind
                ? try await closingGap(before: event, arrived: state.arrival(event.streamID), on: connection) : .inOrder([event])
            {
            case .inOrder(let events):
                inOrder = events
            case .unfillable(let reason):
                let key = StreamKey(projection: arrivalKey, stream: event.streamID)
                let id = try await park(
                    record, event: event, projection: arrivalKey, error: reason, attempts: 0, blockedBy: nil,
                    fingerprint: "Gap: ahead of a gap the event store cannot fill", on: connection)
                if state.parkedStreams[key] == nil { state.parkedStreams[key] = id }
                parked.append(ParkedEvent(record: record, reason: reason))
                continue
            }
            for event in inOrder {
                if event.streamVersion - 1 == state.arrival(event.streamID) {
                    state.markArrived(event.streamID, event.streamVersion)
                    if state.parkedStreams[StreamKey(projection: arrivalKey, stream: event.streamID)] != nil {
                        try await resolveGapLetter(of: event, on: connection)
                    }
                }
                for projection in projections where projection.streamTypes.contains(event.streamType) && !projection.knownEventTypes.contains(event.type) {
                    // A type of its own streams this projection does not know (newer code wrote
                    // it): parked, and its stream held behind it, rather than silently missed.
                    let key = StreamKey(projection: projection.name, stream: event.streamID)
                    if let last = state.positions[key], event.streamVersion <= last { continue }
                    let reason =
                        "unknown event type \(event.type) v\(event.schemaVersion) on a \(event.streamType) stream: \(projection.name) knows \(projection.knownEventTypes.sorted().joined(separator: ", "))"
                    let id = try await park(
                        record, event: event, projection: projection.name, error: reason, attempts: 0, blockedBy: state.parkedStreams[key],
                        on: connection)
                    if state.parkedStreams[key] == nil { state.parkedStreams[key] = id }
                    parked.append(ParkedEvent(record: record, reason: reason))
                }
                for projection in projections where projection.eventTypes.contains(event.type) {
                    let key = StreamKey(projection: projection.name, stream: event.streamID)
                    if let last = state.positions[key], event.streamVersion <= last {
                        skipped += 1
                        continue
                    }
                    if let blocker = state.parkedStreams[key] {
                        try await park(record, event: event, projection: projection.name, error: "parked behind dead letter \(blocker)", attempts: 0, blockedBy: blocker, on: connection)
                        parked.append(ParkedEvent(record: record, reason: "behind \(blocker)"))
                        continue
                    }
                    if careful {
                        if let failure = try await applyWithRetries(event, projection: projection, on: connection) {
                            let id = try await park(
                                record, event: event, projection: projection.name, error: failure.message, attempts: failure.attempts,
                                blockedBy: nil, fingerprint: failure.fingerprint, on: connection)
                            state.parkedStreams[key] = id
                            parked.append(ParkedEvent(record: record, reason: failure.message))
                            continue
                        }
                    } else {
                        pending[projection.name, default: []].append(event)
                    }
                    state.positions[key] = event.streamVersion
                    state.changedPositions.insert(key)
                    applied += 1
                }
            }
        }
        for projection in projections {
            guard let events = pending[projection.name] else { continue }
            try await projection.apply(events, to: ProjectionTarget(connection: connection, logger: logger))
        }
        try await state.savePositions(on: connection, logger: logger)
        CrashPoint.reach(CrashPoint.projectionBeforeCommit)
        let next = (fresh.last?.record.offset ?? start.offset) + 1
        let moved = try await connection.query(
            """
            INSERT INTO read_models.checkpoints AS c (processor, topic, partition, next_offset, owner)
            VALUES (\(processor), \(topic), \(Int32(partition)), \(next), \(instanceID))
            ON CONFLICT (processor, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, owner = EXCLUDED.owner, updated_at = now()
            WHERE c.next_offset = \(checkpoint ?? -1)
            RETURNING next_offset
            """, logger: logger
        ).collect()
        // The row was created or moved by someone else since we read it: give up this batch.
        guard !moved.isEmpty else { throw Fenced(checkpoint: checkpoint ?? 0) }
        return .committed(nextOffset: next, applied: applied, skipped: skipped, parked: parked)
    }

    struct Failure {
        var message: String
        var fingerprint: String
        var attempts: Int
    }

    /// Tries the event `retry.attempts` times with exponential backoff, each under a savepoint.
    private func applyWithRetries(_ event: RecordedEvent, projection: any Projection, on connection: PostgresConnection) async throws -> Failure? {
        var delay = retry.initialDelay
        var lastError: (any Error)?
        var attempts = 0
        for attempt in 1...retry.attempts {
            attempts = attempt
            _ = try await connection.query("SAVEPOINT projection_event", logger: logger).collect()
            do {
                try await projection.apply([event], to: ProjectionTarget(connection: connection, logger: logger))
                _ = try await connection.query("RELEASE SAVEPOINT projection_event", logger: logger).collect()
                return nil
            } catch {
                // A deadlock or lock timeout is not the event's fault: the whole batch is retried.
                if DatabaseErrors.isTransient(error) { throw error }
                _ = try await connection.query("ROLLBACK TO SAVEPOINT projection_event", logger: logger).collect()
                lastError = error
                // What the statement was asked to write can never be written (a NUL byte, an
                // id too long for an index): retrying cannot help, park it now.
                let permanent = DatabaseErrors.isPermanent(sqlState: DatabaseErrors.sqlState(of: error))
                logger.warning(
                    "projection failed on event",
                    metadata: MessageContext(of: event).metadata.merging([
                        "projection": "\(projection.name)", "version": "\(event.streamVersion)",
                        "attempt": "\(attempt)", "error": "\(DatabaseErrors.describe(error))",
                    ]) { $1 })
                if permanent { break }
                if attempt < retry.attempts {
                    try await Task.sleep(for: delay)
                    delay *= 2
                }
            }
        }
        let message = lastError.map(DatabaseErrors.describe) ?? "unknown error"
        let errorType = lastError.map { String(describing: Swift.type(of: $0)) } ?? "Error"
        return Failure(message: message, fingerprint: FailureFingerprint.of(errorType: errorType, message: message), attempts: attempts)
    }

    @discardableResult
    private func park(
        _ record: KafkaConsumedMessage, event: RecordedEvent?, projection: String, error: String, attempts: Int, blockedBy: Int64?,
        fingerprint: String? = nil, on connection: PostgresConnection
    ) async throws -> Int64 {
        // Every value is made storable (`StorableText`, `StoredEnvelope`): the park must succeed
        // whatever bytes made the record fail.
        let envelope = event.map(StoredEnvelope.init) ?? StoredEnvelope(record: record)
        let json = String(decoding: try JSONEncoder().encode(envelope), as: UTF8.self)
        let error = StorableText.escaped(error, limit: 8_000)
        let shape = StorableText.escaped(
            fingerprint ?? (blockedBy != nil ? "parked behind an earlier failure" : FailureFingerprint.of(errorType: "Envelope", message: error)), limit: 1_000)
        let stream = StorableText.escaped(event?.streamID ?? record.keyString ?? "?", limit: 500)
        let type = StorableText.escaped(event?.type ?? "?", limit: 500)
        let rows = try await connection.query(
            """
            INSERT INTO read_models.dead_letters (processor, projection, topic, partition, kafka_offset, stream_id, stream_version, event_id,
                                                  event_type, event, error, fingerprint, attempts, blocked_by)
            VALUES (\(processor), \(projection), \(record.topic), \(Int32(record.partition)), \(record.offset),
                    \(stream), \(event?.streamVersion ?? 0), \(event?.eventID ?? Self.recordID(record)),
                    \(type), \(json)::jsonb, \(error), \(shape), \(Int32(attempts)), \(blockedBy))
            ON CONFLICT (projection, event_id) DO UPDATE SET last_failed_at = now(), attempts = read_models.dead_letters.attempts + EXCLUDED.attempts
            RETURNING id
            """, logger: logger
        ).collect()
        return try rows.first?.decode(Int64.self) ?? 0
    }
}

extension PartitionBatchWriter {
    /// The id of a record whose event cannot be read: a hash of its bytes (topic, key, headers,
    /// value), so that a copy (a redelivery or a relay's resend) finds its dead letter instead of
    /// adding a second one, while two different records never share one.
    static func recordID(_ record: KafkaConsumedMessage) -> UUID {
        var first: UInt64 = 14_695_981_039_346_656_037  // FNV-1a, and a second lane with another basis
        var second: UInt64 = 1_099_511_628_211 &* 31
        func mix(_ bytes: some Sequence<UInt8>) {
            for byte in bytes {
                first = (first ^ UInt64(byte)) &* 1_099_511_628_211
                second = (second ^ UInt64(byte)) &* 1_099_511_628_211
            }
            first = (first ^ 0xff) &* 1_099_511_628_211  // a separator, so that "ab"+"c" differs from "a"+"bc"
            second = (second ^ 0xfe) &* 1_099_511_628_211
        }
        mix(record.topic.utf8)
        mix(record.key ?? [])
        for header in record.headers {
            mix(header.key.utf8)
            mix(header.value ?? [])
        }
        mix(record.value)
        let a = withUnsafeBytes(of: first.bigEndian, Array.init)
        let b = withUnsafeBytes(of: second.bigEndian, Array.init)
        return UUID(uuid: (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]))
    }
}

public struct RetryPolicy: Sendable {
    public var attempts: Int
    public var initialDelay: Duration

    public init(attempts: Int = 3, initialDelay: Duration = .milliseconds(50)) {
        self.attempts = max(1, attempts)
        self.initialDelay = initialDelay
    }
}

struct StreamKey: Hashable {
    var projection: String
    var stream: String
}

/// Per-batch view of stream positions and parked streams for the batch's streams.
struct BatchState {
    var positions: [StreamKey: Int64] = [:]
    var changedPositions: Set<StreamKey> = []
    /// Streams with a parked dead letter, and the first one's id.
    var parkedStreams: [StreamKey: Int64] = [:]
    var arrivalKey = ""

    /// The processor's arrival row: the last version of `stream` it received in sequence (0: none).
    func arrival(_ stream: String) -> Int64 {
        positions[StreamKey(projection: arrivalKey, stream: stream)] ?? 0
    }

    /// The last version of `stream` that `projection` has: its own position, or the arrival row
    /// where that is further (events of types it does not take passed by in sequence). Another
    /// projection's position does not count: a rebuild moves one projection alone.
    func received(_ stream: String, by projection: String) -> Int64 {
        max(arrival(stream), positions[StreamKey(projection: projection, stream: stream)] ?? 0)
    }

    mutating func markArrived(_ stream: String, _ version: Int64) {
        let key = StreamKey(projection: arrivalKey, stream: stream)
        positions[key] = version
        changedPositions.insert(key)
    }

    static func load(
        streams: [String], projections: [any Projection], arrivalKey: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> BatchState {
        var state = try await load(
            streams: Array(Set(streams)), projections: projections.map(\.name) + [arrivalKey], on: connection, logger: logger)
        state.arrivalKey = arrivalKey
        return state
    }

    /// Positions and parked dead letters of `streams` for the named projections.
    static func load(streams: [String], projections names: [String], on connection: PostgresConnection, logger: Logger) async throws -> BatchState {
        var state = BatchState()
        // A replay of a stream's parked letters holds the stream's position row for its
        // projection, inserting it when there is none yet (nothing applied). A row another
        // transaction inserted is invisible to `FOR UPDATE` here, so the rows of parked streams
        // are inserted too: that waits for a replay's uncommitted row, `FOR UPDATE` for its lock.
        // The letters are then read again, as the replay left them.
        var parked = try await parkedLetters(of: streams, projections: names, on: connection, logger: logger)
        if !parked.isEmpty {
            let keys = parked.keys.sorted { ($0.projection, $0.stream) < ($1.projection, $1.stream) }
            _ = try await connection.query(
                """
                INSERT INTO read_models.stream_positions (projection, stream_id, version)
                SELECT p, s, 0 FROM unnest(\(keys.map(\.projection))::text[], \(keys.map(\.stream))::text[]) AS k(p, s)
                ON CONFLICT DO NOTHING
                """, logger: logger
            ).collect()
        }
        // Locks the streams' position rows: a concurrent replay of the same stream waits.
        for row in try await connection.query(
            """
            SELECT projection, stream_id, version FROM read_models.stream_positions
            WHERE projection = ANY(\(names)) AND stream_id = ANY(\(streams)) FOR UPDATE
            """, logger: logger
        ).collect() {
            let (projection, stream, version) = try row.decode((String, String, Int64).self)
            state.positions[StreamKey(projection: projection, stream: stream)] = version
        }
        if !parked.isEmpty { parked = try await parkedLetters(of: streams, projections: names, on: connection, logger: logger) }
        state.parkedStreams = parked
        return state
    }

    /// The first parked letter of each of `streams` per projection.
    private static func parkedLetters(
        of streams: [String], projections names: [String], on connection: PostgresConnection, logger: Logger
    ) async throws -> [StreamKey: Int64] {
        var parked: [StreamKey: Int64] = [:]
        for row in try await connection.query(
            """
            SELECT projection, stream_id, min(id) FROM read_models.dead_letters
            WHERE status = 'parked' AND projection = ANY(\(names)) AND stream_id = ANY(\(streams))
            GROUP BY projection, stream_id
            """, logger: logger
        ).collect() {
            let (projection, stream, id) = try row.decode((String, String, Int64).self)
            parked[StreamKey(projection: projection, stream: stream)] = id
        }
        return parked
    }

    func savePositions(on connection: PostgresConnection, logger: Logger) async throws {
        guard !changedPositions.isEmpty else { return }
        let keys = Array(changedPositions)
        let projections = keys.map(\.projection)
        let streams = keys.map(\.stream)
        let versions = keys.map { positions[$0] ?? 0 }
        _ = try await connection.query(
            """
            INSERT INTO read_models.stream_positions (projection, stream_id, version)
            SELECT * FROM unnest(\(projections)::text[], \(streams)::text[], \(versions)::int8[])
            ON CONFLICT (projection, stream_id) DO UPDATE SET version = EXCLUDED.version
            """, logger: logger
        ).collect()
    }
}

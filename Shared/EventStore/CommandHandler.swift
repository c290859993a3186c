public import EventSourcing
public import Foundation
import Logging
import Kafka
import ServiceSupport
public import Metrics
import Tracing

/// Who asked, and why: carried onto every event the command causes.
public struct CommandContext: Sendable {
    /// Idempotency key: a repeat returns the first result and appends nothing.
    public var commandID: String?
    /// A digest of the request behind `commandID`: a repeat with another digest is refused.
    public var requestHash: String?
    public var correlationID: String
    public var causationID: String?
    public var metadata: [String: String]

    public init(
        commandID: String? = nil, requestHash: String? = nil, correlationID: String, causationID: String? = nil,
        metadata: [String: String] = [:]
    ) {
        self.commandID = commandID
        self.requestHash = requestHash
        self.correlationID = correlationID
        // A request's first event is caused by the request's command: its id, or the request's
        // own (set by the HTTP edge) when the command has none or a longer one than a cause may
        // be (command ids may be longer than causes).
        let fittingCommandID = commandID.flatMap { $0.utf8.count <= PostgresEventStore.Limits.maxTraceIDBytes ? $0 : nil }
        self.causationID = causationID ?? fittingCommandID ?? MessageContext.current?.causationID
        self.metadata = metadata
    }
}

public enum CommandOutcome<State: Sendable, Event: Sendable>: Sendable {
    case appended(events: [Event], result: AppendResult, state: State)
    /// The decision changed nothing (an already-satisfied command).
    case unchanged(state: State, version: Int64)
    /// The command id was seen before; this is the first execution's stored result.
    case duplicate(storedResult: [UInt8])
}

public enum CommandError: Error, Sendable, CustomStringConvertible {
    /// A business rule said no.
    case rejected(DomainError)
    /// Still conflicting after re-reading and re-deciding the allowed number of times.
    case conflict(EventStoreError)
    case store(EventStoreError)
    case codec(EventCodingError)

    public var description: String {
        switch self {
        case .rejected(let error): "rejected: \(error)"
        case .conflict(let error): "conflict: \(error)"
        case .store(let error): "\(error)"
        case .codec(let error): "\(error)"
        }
    }
}

/// The command side of one stream type: load (snapshot + tail), fold, decide, append with the
/// version read as the expected version; on a conflict re-read and re-decide, a bounded number
/// of times (Equinox's resync loop).
public struct CommandHandler<Command: Sendable, State: Codable & Sendable, Event: Sendable>: Sendable {
    public let decider: Decider<Command, State, Event>
    public let codec: EventCodec<Event>
    public let store: PostgresEventStore
    /// Take a snapshot each time a stream crosses a multiple of this many events (nil: never).
    public let snapshotEvery: Int64?
    /// Bump when `State`'s shape changes: older snapshots are then ignored and rebuilt.
    public let stateSchema: Int
    public let maxAttempts: Int
    /// Where `snapshots_unreadable_total` is counted.
    public let metrics: any MetricsFactory
    /// States of recently decided streams (nil: every command reads its stream).
    public let cache: StreamStateCache?
    /// Appends refused for a stale expected version (each then re-read and re-decided).
    private let conflicts: Counter

    public init(
        decider: Decider<Command, State, Event>, codec: EventCodec<Event>, store: PostgresEventStore,
        snapshotEvery: Int64? = nil, stateSchema: Int = 1, maxAttempts: Int = 5, metrics: any MetricsFactory = MetricsSystem.factory,
        cache: StreamStateCache? = nil
    ) {
        self.decider = decider
        self.codec = codec
        self.store = store
        self.snapshotEvery = snapshotEvery
        self.stateSchema = stateSchema
        self.maxAttempts = maxAttempts
        self.metrics = metrics
        self.cache = cache
        conflicts = Counter(label: "eventstore_version_conflicts_total", factory: metrics)
    }

    /// The current state and version of a stream (0 when it does not exist).
    public func load(_ stream: StreamName) async throws(CommandError) -> (state: State, version: Int64) {
        let streamID = stream.description
        // How often the command side reads a stream (the state cache saves the rest).
        Counter(label: "command_stream_reads_total", dimensions: [("stream_type", stream.category)], factory: metrics).increment()
        var state = decider.initialState
        var version: Int64 = 0
        do {
            if snapshotEvery != nil, let snapshot = try await store.loadSnapshot(of: streamID), snapshot.stateSchema == stateSchema {
                do {
                    state = try EventJSON.decoder().decode(State.self, from: Data(snapshot.state))
                    version = snapshot.version
                } catch {
                    // The events are the truth, so the stream still loads (full replay), but a
                    // snapshot of the current schema that cannot be read is a bug to see, not to
                    // hide: counted and logged. The next snapshot crossing writes a good one.
                    Counter(label: "snapshots_unreadable_total", dimensions: [("stream_type", stream.category)], factory: metrics).increment()
                    store.logger.warning(
                        "snapshot unreadable; replaying the stream from its first event",
                        metadata: ["stream": "\(streamID)", "version": "\(snapshot.version)", "error": "\(error)"])
                }
            }
            let tail = try await store.readStream(streamID, from: version + 1)
            for event in tail {
                state = decider.evolve(state, try codec.decode(event.encoded))
                version = event.streamVersion
            }
        } catch {
            throw Self.readFailure(error, stream: streamID)
        }
        return (state, version)
    }

    /// The state as it was at `time` (temporal query), or after `version`.
    public func state(of stream: StreamName, asOf time: Date? = nil, version: Int64? = nil) async throws(CommandError) -> (state: State, version: Int64) {
        let streamID = stream.description
        do {
            let events =
                if let time { try await store.readStream(streamID, asOf: time) } else { try await store.readStream(streamID, through: version) }
            var state = decider.initialState
            for event in events { state = decider.evolve(state, try codec.decode(event.encoded)) }
            return (state, events.last?.streamVersion ?? 0)
        } catch {
            throw Self.readFailure(error, stream: streamID)
        }
    }

    /// Reading a stream fails either in the store or in decoding an event.
    private static func readFailure(_ error: any Error, stream: String) -> CommandError {
        switch error {
        case let error as EventStoreError: .store(error)
        case let error as EventCodingError: .codec(error)
        default: .store(.database(error, stream: stream))
        }
    }

    /// Decides and appends in a span (`command <stream type>`) whose context every event of the
    /// command stores (`TraceHeaders`), so that whatever the events cause joins the trace.
    public func handle(
        _ command: Command, on stream: StreamName, context: CommandContext,
        result: @escaping @Sendable (AppendedVersion) -> [UInt8] = { _ in Array("{}".utf8) }
    ) async throws(CommandError) -> CommandOutcome<State, Event> {
        // No tracer: no span, no headers (the events store none).
        guard TraceHeaders.isTracing else { return try await decideAndAppend(command, on: stream, context: context, result: result) }
        let span = startSpan("command \(stream.category)")
        defer { span.end() }
        span.updateAttributes { attributes in
            attributes["stream.id"] = stream.description
            attributes["correlation.id"] = context.correlationID
            if let commandID = context.commandID { attributes["command.id"] = commandID }
        }
        var traced = context
        traced.metadata.merge(TraceHeaders.of(span.context)) { own, _ in own }
        do {
            return try await InstrumentationContext.withValue(span.context) { try await decideAndAppend(command, on: stream, context: traced, result: result) }
        } catch let error as CommandError {
            if case .rejected = error {} else { span.recordError(error) }
            throw error
        } catch {
            // `decideAndAppend` throws only `CommandError`; `withValue` forgets the type.
            span.recordError(error)
            throw .store(.database(error, stream: stream.description))
        }
    }

    private func decideAndAppend(
        _ command: Command, on stream: StreamName, context: CommandContext, result: @escaping @Sendable (AppendedVersion) -> [UInt8]
    ) async throws(CommandError) -> CommandOutcome<State, Event> {
        let streamID = stream.description
        var attempt = 0
        // The command log is asked once per stream state decided on: a repeat is one lookup.
        var askedLog = false
        while true {
            attempt += 1
            // The cached state on the first attempt only: after a conflict the stream is read.
            let cached = attempt == 1 ? cache?.state(of: streamID, as: State.self) : nil
            let (state, version): (State, Int64)
            if let cached { (state, version) = cached } else { (state, version) = try await load(stream) }
            let events: [Event]
            do {
                events = try decider.decide(command, state)
            } catch {
                // A repeat of a command that appended before (a retry after a lost answer, a
                // saga's resend) is answered as the first time, not refused by what the first one
                // changed; asked before reloading anything, so a repeat costs one lookup.
                if !askedLog, let stored = try await storedResult(context, result: result) { return .duplicate(storedResult: stored) }
                // Asked on a cached state: asked again after the reload (a first run of the same
                // id elsewhere may commit in between).
                askedLog = cached == nil
                // No append checks a refusal: decide it again on the stream as stored.
                if cached != nil { continue }
                throw .rejected(error)
            }
            guard !events.isEmpty else {
                if !askedLog, let stored = try await storedResult(context, result: result) { return .duplicate(storedResult: stored) }
                askedLog = cached == nil
                if cached != nil { continue }
                cache?.remember(state, version: version, of: streamID)
                return .unchanged(state: state, version: version)
            }
            let newEvents: [NewEvent]
            do {
                newEvents = try events.map { event throws(EventCodingError) in
                    NewEvent(
                        encoded: try codec.encode(event), correlationID: context.correlationID,
                        causationID: context.causationID, metadata: context.metadata)
                }
            } catch {
                throw .codec(error)
            }
            let record = context.commandID.map { CommandRecord(id: $0, requestHash: context.requestHash, result: result) }
            do {
                switch try await store.append(to: stream, expected: .exact(version), events: newEvents, command: record) {
                case .duplicateCommand(let stored):
                    // Nothing appended, and the cached state stays: were it stale, the next append
                    // from it fails its expected version and reloads (and a refusal decided on it
                    // is decided again on the stream as stored). Forgetting it here made every
                    // resend reload its stream inside the stream's serial lane.
                    return .duplicate(storedResult: stored)
                case .appended(let appended):
                    let newState = decider.fold(events, from: state)
                    cache?.remember(newState, version: appended.nextExpectedVersion, of: streamID)
                    await snapshotIfDue(stream, state: newState, from: version, to: appended.nextExpectedVersion)
                    return .appended(events: events, result: appended, state: newState)
                }
            } catch where error.code == .wrongExpectedVersion {
                conflicts.increment()
                cache?.forget(streamID)
                askedLog = false
                if attempt >= maxAttempts { throw .conflict(error) }
                continue
            } catch {
                // A lost connection leaves the append's outcome unknown.
                cache?.forget(streamID)
                throw .store(error)
            }
        }
    }

    /// The command log's answer for the context's command id, if it has one.
    private func storedResult(_ context: CommandContext, result: @escaping @Sendable (AppendedVersion) -> [UInt8]) async throws(CommandError) -> [UInt8]? {
        guard let id = context.commandID else { return nil }
        do {
            return try await store.storedResult(of: CommandRecord(id: id, requestHash: context.requestHash, result: result))
        } catch {
            throw .store(error)
        }
    }

    /// Best effort: a snapshot only saves reading; a failed one is rebuilt by the next crossing.
    private func snapshotIfDue(_ stream: StreamName, state: State, from oldVersion: Int64, to newVersion: Int64) async {
        guard let every = snapshotEvery, every > 0, oldVersion / every != newVersion / every,
            let bytes = try? EventJSON.encoder().encode(state)
        else { return }
        try? await store.saveSnapshot(
            Snapshot(version: newVersion, stateSchema: stateSchema, state: Array(bytes)), streamID: stream.description,
            streamType: stream.category)
    }
}

public import EventSourcing
import Synchronization

/// Makes a projection fail on chosen streams, or on every stream of a type (`<type>-*`): the
/// drill and test hook for poison events (`POST /admin/faults` on the projection service).
public final class FaultSwitch: Sendable {
    private let failing = Mutex<Set<String>>([])

    public init() {}

    public func set(stream: String, failing enabled: Bool) {
        failing.withLock { if enabled { $0.insert(stream) } else { $0.remove(stream) } }
    }

    public var streams: Set<String> { failing.withLock { $0 } }

    func check(_ event: RecordedEvent, projection: String) throws {
        if failing.withLock({ !$0.isEmpty && ($0.contains(event.streamID) || $0.contains("\(event.streamType)-*")) }) {
            throw InjectedFault(projection: projection, stream: event.streamID, version: event.streamVersion)
        }
    }
}

public struct InjectedFault: Error, CustomStringConvertible {
    public var projection: String
    public var stream: String
    public var version: Int64
    public var description: String { "injected fault in \(projection) for \(stream) v\(version)" }
}

/// A projection that consults a `FaultSwitch` before applying.
public struct FaultInjectingProjection: Projection {
    public let inner: any Projection
    public let faults: FaultSwitch

    public init(_ inner: any Projection, faults: FaultSwitch) {
        self.inner = inner
        self.faults = faults
    }

    public var name: String { inner.name }
    public var eventTypes: Set<String> { inner.eventTypes }
    public var streamTypes: Set<String> { inner.streamTypes }
    public var knownEventTypes: Set<String> { inner.knownEventTypes }
    public var tables: [String] { inner.tables }

    public func apply(_ events: [RecordedEvent], to target: ProjectionTarget) async throws {
        for event in events { try faults.check(event, projection: inner.name) }
        try await inner.apply(events, to: target)
    }
}

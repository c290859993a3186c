import Synchronization

/// The command side's memory of recently decided streams: a stream's folded state at a
/// version, so that the next command on it decides without reading the stream again. Only a
/// hint: the append still carries that version as its expected version, so a state another
/// writer (another instance) has moved past fails the append, is forgotten, and the stream is
/// read again (Equinox's cache works the same way). A refusal or a no-op decided on a cached
/// state is decided again on the stream as stored, since no append checks it.
///
/// Bounded by two generations of at most `capacity / 2` streams each: a lookup in the older one
/// moves the entry to the newer; when the newer is full the older is dropped. Constant time,
/// and the least recently used streams go first.
public final class StreamStateCache: Sendable {
    private struct Entry: Sendable {
        /// A `State` of the handler that stored it; read back with the same type.
        var state: any Sendable
        var version: Int64
    }

    private struct Generations {
        var current: [String: Entry] = [:]
        var previous: [String: Entry] = [:]
    }

    private let generations = Mutex(Generations())
    private let generationSize: Int

    public init(capacity: Int = 10_000) {
        generationSize = max(1, capacity / 2)
    }

    /// The cached state of `stream` and its version, if it is cached as a `State`.
    public func state<State: Sendable>(of stream: String, as type: State.Type) -> (state: State, version: Int64)? {
        generations.withLock { generations in
            let entry: Entry
            if let current = generations.current[stream] {
                entry = current
            } else if let previous = generations.previous.removeValue(forKey: stream) {
                entry = previous
                Self.insert(previous, for: stream, into: &generations, size: generationSize)
            } else {
                return nil
            }
            guard let state = entry.state as? State else { return nil }
            return (state, entry.version)
        }
    }

    public func remember<State: Sendable>(_ state: State, version: Int64, of stream: String) {
        generations.withLock { generations in
            generations.previous[stream] = nil
            Self.insert(Entry(state: state, version: version), for: stream, into: &generations, size: generationSize)
        }
    }

    public func forget(_ stream: String) {
        generations.withLock { generations in
            generations.current[stream] = nil
            generations.previous[stream] = nil
        }
    }

    private static func insert(_ entry: Entry, for stream: String, into generations: inout Generations, size: Int) {
        if generations.current[stream] == nil, generations.current.count >= size {
            generations.previous = generations.current
            generations.current = [:]
        }
        generations.current[stream] = entry
    }
}

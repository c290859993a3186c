import Metrics
import Synchronization

/// The saga transactions of one orchestrator process: at most `limit` at once, and a batch that
/// only moves running instances on goes before one that would start new instances.
///
/// Why: past saturation every stage is a queue shared by new and finishing sagas, so a saga
/// that is one step from done waits behind starts that add work. With the gate, starts wait
/// while finishing work waits; finishing work is finite without new starts, so starts always
/// get their turn (and after `patience` a waiting start goes first anyway). Bounding the
/// transactions at once also lets partitions' records gather while they wait: under load each
/// transaction carries a larger batch, which is what a saga step costs (per transaction, not
/// per event); unloaded, nothing waits and nothing changes.
public final class SagaWriteGate: Sendable {
    public enum Lane: String, Sendable {
        /// Every event of the batch belongs to an instance that runs already (or is ignored).
        case finishing
        /// At least one event of the batch may start an instance.
        case starting
    }

    private struct Waiter {
        let id: UInt64
        let lane: Lane
        let since: ContinuousClock.Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var inside = 0
        var waiting: [Waiter] = []
        var nextID: UInt64 = 0
    }

    public let limit: Int
    public let patience: Duration
    private let state = Mutex(State())
    private let waited: [Lane: Counter] = [
        .finishing: Counter(label: "saga_batches_waited_total", dimensions: [("lane", Lane.finishing.rawValue)]),
        .starting: Counter(label: "saga_batches_waited_total", dimensions: [("lane", Lane.starting.rawValue)]),
    ]

    public init(limit: Int, patience: Duration = .seconds(1)) {
        self.limit = max(1, limit)
        self.patience = patience
    }

    /// Runs `body` once the gate lets a batch of `lane` in; throws `CancellationError` (without
    /// running it) when the task is cancelled while waiting.
    public func pass<T>(_ lane: Lane, _ body: () async throws -> T) async throws -> T {
        try await enter(lane)
        defer { leave() }
        return try await body()
    }

    /// How many batches wait, by lane (for tests and the health of the gate).
    public var waitingCounts: [Lane: Int] {
        state.withLock { state in Dictionary(grouping: state.waiting, by: \.lane).mapValues(\.count) }
    }

    private func enter(_ lane: Lane) async throws {
        let id = state.withLock { state -> UInt64? in
            if state.inside < limit && state.waiting.isEmpty {
                state.inside += 1
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        waited[lane]?.increment()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let admitted = state.withLock { state -> Bool? in
                    if Task.isCancelled { return nil }
                    // A slot may have come free between the first look and now.
                    if state.inside < limit && state.waiting.isEmpty {
                        state.inside += 1
                        return true
                    }
                    state.waiting.append(Waiter(id: id, lane: lane, since: .now, continuation: continuation))
                    return false
                }
                switch admitted {
                case .none: continuation.resume(throwing: CancellationError())
                case .some(true): continuation.resume()
                case .some(false): break
                }
            }
        } onCancel: {
            let removed = state.withLock { state -> Waiter? in
                guard let index = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiting.remove(at: index)
            }
            removed?.continuation.resume(throwing: CancellationError())
        }
    }

    private func leave() {
        let next = state.withLock { state -> Waiter? in
            state.inside -= 1
            guard state.inside < limit, let index = Self.nextIndex(in: state.waiting, patience: patience, now: .now) else { return nil }
            state.inside += 1
            return state.waiting.remove(at: index)
        }
        next?.continuation.resume()
    }

    /// The oldest start that has waited past `patience`, else the oldest finishing batch, else
    /// the oldest start.
    private static func nextIndex(in waiting: [Waiter], patience: Duration, now: ContinuousClock.Instant) -> Int? {
        let oldestStart = waiting.firstIndex { $0.lane == .starting }
        if let oldestStart, now - waiting[oldestStart].since >= patience { return oldestStart }
        return waiting.firstIndex { $0.lane == .finishing } ?? oldestStart
    }
}

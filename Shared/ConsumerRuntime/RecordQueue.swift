import Kafka
import Synchronization

/// One partition's records between the poll loop and the partition's worker: appended as polls
/// bring them, taken in batches, counted so that the poll loop can pause a partition that is
/// behind (and resume it) without holding the others back.
final class RecordQueue: Sendable {
    private struct State {
        var records: [KafkaConsumedMessage] = []
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.records.count } }

    func append(_ records: [KafkaConsumedMessage]) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.closed else { return nil }
            state.records.append(contentsOf: records)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Drops what is queued (the partition is read again from elsewhere).
    func clear() { state.withLock { $0.records.removeAll() } }

    /// No more batches: `take` returns nil once it is called.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            state.records.removeAll()
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Up to `max` records, waiting for the first; nil when closed or cancelled.
    func take(max: Int) async -> [KafkaConsumedMessage]? {
        while true {
            if Task.isCancelled { return nil }
            let taken = state.withLock { state -> [KafkaConsumedMessage]?? in
                if state.closed { return .some(nil) }
                guard !state.records.isEmpty else { return nil }
                let count = min(max, state.records.count)
                defer { state.records.removeFirst(count) }
                return .some(Array(state.records.prefix(count)))
            }
            if let taken { return taken }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let ready = state.withLock { state -> Bool in
                        if state.closed || !state.records.isEmpty || Task.isCancelled { return true }
                        state.waiter = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume()
            }
        }
    }
}

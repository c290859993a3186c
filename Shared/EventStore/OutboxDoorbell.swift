import Synchronization

/// Wakes the relay in this process as soon as a transaction here committed rows it publishes
/// (an append, a saga step with commands). This replaces a NOTIFY from the outbox's trigger:
/// a committing transaction that notified took PostgreSQL's cluster-wide notification lock
/// through its commit, so those commits queued one behind the other for their WAL flush instead
/// of sharing one (measured under load: the most frequent wait of the suite's connections).
/// Rows other processes commit are found by the relay's short poll (`OutboxSettings.idleInterval`).
package final class OutboxDoorbell: Sendable {
    private let listeners = Mutex<[Int: AsyncStream<Void>.Continuation]>([:])
    private let next = Atomic<Int>(0)
    private static let registry = Mutex<[String: OutboxDoorbell]>([:])

    /// The process's doorbell of one outbox (by its relay's name).
    package static func named(_ name: String) -> OutboxDoorbell {
        registry.withLock { bells in
            if let bell = bells[name] { return bell }
            let bell = OutboxDoorbell()
            bells[name] = bell
            return bell
        }
    }

    /// Called after the commit: every relay waiting on this outbox looks at once.
    package func ring() {
        for listener in listeners.withLock({ Array($0.values) }) { listener.yield() }
    }

    /// Runs `body` with `wakeups`, which yields when the bell rings and, as the poll for other
    /// processes' rows, every `interval` (at most one wake-up is kept: a burst during a round
    /// wakes the next round once).
    package func listening<T: Sendable>(
        orEvery interval: Duration, _ body: @escaping @Sendable (_ wakeups: AsyncStream<Void>) async throws -> T
    ) async throws -> T {
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = next.wrappingAdd(1, ordering: .relaxed).oldValue
        listeners.withLock { $0[id] = wake }
        defer {
            _ = listeners.withLock { $0.removeValue(forKey: id) }
            wake.finish()
        }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                while true {
                    try await Task.sleep(for: interval)
                    wake.yield()
                }
            }
            group.addTask { try await body(wakeups) }
            defer { group.cancelAll() }
            while let finished = try await group.next() {
                if let finished { return finished }
            }
            throw CancellationError()
        }
    }
}

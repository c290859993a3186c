public import Logging
public import PostgresNIO
import Synchronization

/// PostgresNIO 1.33 loses a request written to a connection that has just been closed: NIO
/// tears the channel's pipeline down on close, so the write never reaches the connection's
/// state machine and the statement waits forever (postgres-nio #487 fixed it, #501 reverted
/// the fix). That happens whenever PostgreSQL goes away between two statements of a lease —
/// a restart, a failover, a terminated backend — and a pool can even lend a connection that
/// closed a moment ago. So every lease the suite takes races its connection's close: when the
/// connection closes, the caller gets `ConnectionClosed` at once and the lost statement's task
/// is left behind (a small leak, only after a close).
public struct ConnectionClosed: Error, CustomStringConvertible {
    public var description: String { "PostgreSQL connection closed by the server" }
}

extension PostgresConnection {
    /// Runs `body` with this connection, failing with `ConnectionClosed` as soon as the
    /// connection closes, even if `body` is waiting on a statement that will never answer.
    public func failingOnClose<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let settled = Settled()
        let work = Mutex<Task<Void, Never>?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let watch = CloseWatch.shared.watch(self) {
                    guard settled.claim() else { return }
                    continuation.resume(throwing: ConnectionClosed())
                    // What still runs cooperatively (a loop between statements) stops too.
                    work.withLock { $0 }?.cancel()
                }
                let task = Task {
                    // Lent after it closed: a statement now would be lost.
                    if self.isClosed {
                        CloseWatch.shared.unwatch(watch)
                        if settled.claim() { continuation.resume(throwing: ConnectionClosed()) }
                        return
                    }
                    let result: Result<T, any Error>
                    do { result = .success(try await body(self)) } catch { result = .failure(error) }
                    CloseWatch.shared.unwatch(watch)
                    if settled.claim() { continuation.resume(with: result) }
                }
                work.withLock { $0 = task }
                // Cancelled before the task existed: the handler below found nothing to cancel.
                if Task.isCancelled { task.cancel() }
            }
        } onCancel: {
            work.withLock { $0 }?.cancel()
        }
    }
}

extension PostgresClient {
    /// `withConnection`, failing with `ConnectionClosed` as soon as the leased connection closes.
    /// Counted in `ProcessGauges` (waiting for the pool, then holding a connection).
    public func withLiveConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        guard ProcessGauges.isWatched(self) else { return try await withConnection { connection in try await connection.failingOnClose(body) } }
        ProcessGauges.waitingForConnection.add(1, ordering: .relaxed)
        let leased = Settled()
        defer { if leased.claim() { ProcessGauges.waitingForConnection.subtract(1, ordering: .relaxed) } }
        return try await withConnection { connection in
            if leased.claim() { ProcessGauges.waitingForConnection.subtract(1, ordering: .relaxed) }
            ProcessGauges.holdingConnection.add(1, ordering: .relaxed)
            defer { ProcessGauges.holdingConnection.subtract(1, ordering: .relaxed) }
            return try await connection.failingOnClose(body)
        }
    }

    /// `withTransaction` on a live connection: the body's and the commit's errors come as
    /// `PostgresTransactionError`, as from PostgresNIO; a closed connection as `ConnectionClosed`
    /// (the transaction's outcome is then unknown, as after any lost connection).
    public func liveTransaction<T: Sendable>(
        logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withLiveConnection { connection in try await connection.withTransaction(logger: logger) { try await body($0) } }
    }

    /// `liveTransaction` with the body's own error unwrapped from `PostgresTransactionError`.
    public func liveTransactionUnwrapped<T: Sendable>(
        logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await liveTransaction(logger: logger, body)
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError { throw inner }
            throw error
        }
    }

    /// One statement on a live connection, its rows collected.
    @discardableResult
    public func liveQuery(_ query: PostgresQuery, logger: Logger, file: String = #fileID, line: Int = #line) async throws -> [PostgresRow] {
        try await withLiveConnection { connection in try await connection.query(query, logger: logger, file: file, line: line).collect() }
    }
}

/// True for the first caller of `claim` only.
final class Settled: Sendable {
    private let taken = Atomic<Bool>(false)

    func claim() -> Bool { !taken.exchange(true, ordering: .acquiringAndReleasing) }
}

/// The leases waiting on each open connection, told when it closes. One close callback per
/// connection (not one per lease, which would pile up on a long-lived connection's future).
final class CloseWatch: Sendable {
    static let shared = CloseWatch()

    struct Watch: Sendable {
        var connection: ObjectIdentifier
        var number: UInt64
    }

    private struct State {
        var waiters: [ObjectIdentifier: [UInt64: @Sendable () -> Void]] = [:]
        var next: UInt64 = 0
    }

    private let state = Mutex(State())

    func watch(_ connection: PostgresConnection, onClose: @escaping @Sendable () -> Void) -> Watch {
        let key = ObjectIdentifier(connection)
        let (watch, first) = state.withLock { state in
            state.next += 1
            let first = state.waiters[key] == nil
            state.waiters[key, default: [:]][state.next] = onClose
            return (Watch(connection: key, number: state.next), first)
        }
        // Runs at once when the connection is already closed.
        if first { connection.closeFuture.whenComplete { _ in self.closed(key) } }
        return watch
    }

    func unwatch(_ watch: Watch) {
        state.withLock { state in
            state.waiters[watch.connection]?[watch.number] = nil
        }
    }

    private func closed(_ key: ObjectIdentifier) {
        let waiters = state.withLock { $0.waiters.removeValue(forKey: key) } ?? [:]
        for onClose in waiters.values { onClose() }
    }
}

import Synchronization

/// PostgresNIO 1.33 can leave a query on a connection the server closed waiting forever (the
/// fix, postgres-nio #487, was reverted in #501). Work that must not hang (relays, consumer
/// loops) runs under `abandoning(after:)`: past the limit the caller moves on and the stuck
/// task is left behind (a leaked task and connection lease, only in that rare case).
public struct OperationAbandoned: Error, CustomStringConvertible {
    public var limit: Duration
    public var description: String { "no answer within \(limit); abandoned" }
}

/// Runs `operation`, but stops waiting for it after `limit`: the caller gets `Lost` and the
/// operation is left to finish (or not) on its own.
public func abandoning<T: Sendable>(after limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let settled = OnceFlag()
    return try await withCheckedThrowingContinuation { continuation in
        Task {
            do {
                let value = try await operation()
                if settled.claim() { continuation.resume(returning: value) }
            } catch {
                if settled.claim() { continuation.resume(throwing: error) }
            }
        }
        Task {
            try? await Task.sleep(for: limit)
            if settled.claim() {
                continuation.resume(throwing: OperationAbandoned(limit: limit))
            }
        }
    }
}

/// True for the first caller of `claim` only.
final class OnceFlag: Sendable {
    private let taken = Atomic<Bool>(false)

    func claim() -> Bool { !taken.exchange(true, ordering: .acquiringAndReleasing) }
}

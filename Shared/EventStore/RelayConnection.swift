import Logging
import PostgresNIO
import Synchronization

/// The relay's own connection (it carries the relay's advisory lock).
///
/// PostgresNIO 1.33 can leave a query on a connection the server closed waiting forever (the
/// fix for that, postgres-nio #487, was reverted in #501). So every statement first checks the
/// connection and runs under a deadline; a statement past its deadline is abandoned (its task
/// leaks) and the relay starts over on a new connection.
struct RelayConnection {
    struct Lost: Error, CustomStringConvertible {
        var reason: String
        var description: String { "relay connection lost: \(reason)" }
    }

    let connection: PostgresConnection
    let logger: Logger
    var deadline: Duration = .seconds(30)

    @discardableResult
    func run(_ query: PostgresQuery) async throws -> [PostgresRow] {
        guard !connection.isClosed else { throw Lost(reason: "closed by the server") }
        let connection = self.connection
        let logger = self.logger
        return try await abandoning(after: deadline) {
            try await connection.query(query, logger: logger).collect()
        }
    }
}

/// Runs `operation`, but stops waiting for it after `limit`: the caller gets `Lost` and the
/// operation is left to finish (or not) on its own.
func abandoning<T: Sendable>(after limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
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
                continuation.resume(throwing: RelayConnection.Lost(reason: "no answer within \(limit)"))
            }
        }
    }
}

/// True for the first caller of `claim` only.
final class OnceFlag: Sendable {
    private let taken = Atomic<Bool>(false)

    func claim() -> Bool { !taken.exchange(true, ordering: .acquiringAndReleasing) }
}

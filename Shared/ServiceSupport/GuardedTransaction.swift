public import Logging
public import PostgresNIO

extension PostgresClient {
    /// A transaction that is abandoned if it has not finished within `limit` (a connection the
    /// server closed under us, e.g. after this process was paused, can otherwise hang it with
    /// PostgresNIO 1.33; see `abandoning(after:)`). The body's own error comes out unwrapped.
    public func guardedTransaction<T: Sendable>(
        logger: Logger, abandonAfter limit: Duration = .seconds(45), _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await abandoning(after: limit) {
                try await self.withTransaction(logger: logger) { try await body($0) }
            }
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError { throw inner }
            throw error
        }
    }
}

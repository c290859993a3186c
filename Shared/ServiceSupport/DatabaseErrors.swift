import PostgresNIO

/// PostgreSQL errors as operators need to read them, and which of them are worth a retry.
public enum DatabaseErrors {
    /// SQLSTATEs that say "try the transaction again": deadlock detected, serialization
    /// failure, lock not available (lock_timeout). Not the data's fault.
    static let transientStates: Set<String> = ["40P01", "40001", "55P03"]

    /// PostgresNIO hides a server error's text behind a generic description (it may contain
    /// data); the SQLSTATE and the server's message are what an operator needs.
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let state = error.serverInfo?[.sqlState], let message = error.serverInfo?[.message] {
            return "PostgreSQL error \(state): \(message)"
        }
        return "PostgreSQL \(error.code)"
    }

    public static func isTransient(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return transientStates.contains(state)
    }
}

import PostgresNIO

/// PostgreSQL errors as operators need to read them, and which of them are worth a retry.
public enum DatabaseErrors {
    /// SQLSTATEs that say "try the transaction again": deadlock detected, serialization
    /// failure, lock not available (lock_timeout). Not the data's fault.
    static let transientStates: Set<String> = ["40P01", "40001", "55P03"]

    /// SQLSTATE classes that say "this input can never be written as it is": data exceptions
    /// (22: value too long, invalid text, out of range) and program limits (54: an index row
    /// larger than a btree page, too many columns). Retrying the same statement cannot help.
    static let permanentClasses: Set<Substring> = ["22", "54"]

    /// PostgresNIO hides a server error's text behind a generic description (it may contain
    /// data); the SQLSTATE and the server's message are what an operator needs.
    public static func describe(_ error: any Error) -> String {
        guard let error = unwrap(error) else { return "\(error)" }
        if let state = error.serverInfo?[.sqlState], let message = error.serverInfo?[.message] {
            return "PostgreSQL error \(state): \(message)"
        }
        return "PostgreSQL \(error.code)"
    }

    /// The server's SQLSTATE, also from inside a failed transaction.
    public static func sqlState(of error: any Error) -> String? {
        unwrap(error)?.serverInfo?[.sqlState]
    }

    /// True when a statement inside a transaction was refused by the server (an error with a
    /// SQLSTATE, not connection trouble of class 08) and the transaction therefore did not
    /// commit; false for a failed BEGIN or COMMIT and for a lost connection, whose outcome is
    /// unknown or not the statement's.
    public static func isStatementRefusal(_ error: any Error) -> Bool {
        guard let transaction = error as? PostgresTransactionError, transaction.commitError == nil,
            let refused = transaction.closureError as? PSQLError, let state = refused.serverInfo?[.sqlState]
        else { return false }
        return !state.hasPrefix("08")
    }

    /// True when a statement run on its own (its own implicit transaction) was refused by the
    /// server, so nothing of it was written; false for connection trouble, whose outcome is
    /// unknown.
    public static func isRefusedStatement(_ error: any Error) -> Bool {
        guard let refused = error as? PSQLError, refused.code == .server, let state = refused.serverInfo?[.sqlState] else { return false }
        return !state.hasPrefix("08")
    }

    public static func isTransient(_ error: any Error) -> Bool {
        guard let state = sqlState(of: error) else { return false }
        return transientStates.contains(state)
    }

    /// True when the statement failed because of what it was asked to write (see
    /// `permanentClasses`), not because of the database's condition.
    public static func isPermanent(sqlState state: String?) -> Bool {
        guard let state else { return false }
        return permanentClasses.contains(state.prefix(2))
    }

    private static func unwrap(_ error: any Error) -> PSQLError? {
        if let error = error as? PSQLError { return error }
        if let error = error as? PostgresTransactionError {
            return (error.closureError ?? error.commitError ?? error.beginError) as? PSQLError
        }
        return nil
    }
}

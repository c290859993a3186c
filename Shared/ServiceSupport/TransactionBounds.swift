/// How long any transaction of the suite may wait for a lock, and stay open doing nothing,
/// before PostgreSQL ends it: set on every connection at its start (`DatabaseURL`), so every
/// transaction, whichever code opens it, is covered, with no statement of its own. Without
/// them a paused process (SIGSTOP, a frozen VM) kept its locks for good: saga rows, the
/// `checkpoints` table of a rebuild swap, whatever its transaction held, and every other
/// instance waited behind it.
///
/// - `lock_timeout`: a statement waiting longer for a lock fails with 55P03, which the callers
///   treat as transient (`DatabaseErrors.isTransient`) and retry.
/// - `idle_in_transaction_session_timeout`: a session idle inside a transaction longer is
///   ended by the server, which rolls the transaction back and frees its locks; the paused
///   client finds its connection closed when it resumes (`ConnectionClosed`).
public struct TransactionBounds: Sendable, Hashable {
    public var lockTimeoutMilliseconds: Int
    public var idleInTransactionMilliseconds: Int

    public init(lockTimeoutMilliseconds: Int = 30_000, idleInTransactionMilliseconds: Int = 10_000) {
        self.lockTimeoutMilliseconds = lockTimeoutMilliseconds
        self.idleInTransactionMilliseconds = idleInTransactionMilliseconds
    }

    /// The startup options that set them (the libpq `options` parameter).
    var startupOptions: String {
        "-c lock_timeout=\(lockTimeoutMilliseconds) -c idle_in_transaction_session_timeout=\(idleInTransactionMilliseconds)"
    }
}

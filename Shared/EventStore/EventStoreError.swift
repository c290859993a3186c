import ServiceSupport

/// What can go wrong in the event store, with what an operator or caller needs to act.
public struct EventStoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The stream moved since the writer read it; `actualVersion` is where it is now.
        case wrongExpectedVersion
        /// A stored payload or the envelope could not be read.
        case corruptEvent
        /// PostgreSQL failed or could not be reached.
        case database
        /// The append can never be written as given (a stream id, command id or payload over
        /// the store's limits); checked before it joins a batch, so it fails alone.
        case invalidAppend
        /// The command id (an `Idempotency-Key`) was used before for a different request.
        case commandIDReused
    }

    public var code: Code
    public var streamID: String?
    public var expected: String?
    public var actualVersion: Int64?
    /// PostgreSQL's SQLSTATE, when the server refused a statement.
    public var sqlState: String?
    public var reason: String

    public init(
        code: Code, streamID: String? = nil, expected: String? = nil, actualVersion: Int64? = nil, sqlState: String? = nil,
        reason: String
    ) {
        self.code = code
        self.streamID = streamID
        self.expected = expected
        self.actualVersion = actualVersion
        self.sqlState = sqlState
        self.reason = reason
    }

    public static func wrongExpectedVersion(stream: String, expected: String, actual: Int64) -> Self {
        Self(code: .wrongExpectedVersion, streamID: stream, expected: expected, actualVersion: actual,
             reason: "stream \(stream) is at version \(actual), expected \(expected)")
    }

    public static func database(_ error: any Error, stream: String? = nil) -> Self {
        Self(code: .database, streamID: stream, sqlState: DatabaseErrors.sqlState(of: error), reason: DatabaseErrors.describe(error))
    }

    /// True when trying the same operation again cannot succeed: the input is over a limit,
    /// a stored event is unreadable, or PostgreSQL refused the data itself (SQLSTATE classes 22
    /// and 54). A caller that consumes commands dead-letters these instead of retrying them.
    public var isPermanent: Bool {
        switch code {
        case .invalidAppend, .corruptEvent, .commandIDReused: true
        case .database: DatabaseErrors.isPermanent(sqlState: sqlState)
        case .wrongExpectedVersion: false
        }
    }

    public var description: String { "event store \(code.rawValue): \(reason)" }
}

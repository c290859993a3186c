/// What can go wrong in the event store, with what an operator or caller needs to act.
public struct EventStoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The stream moved since the writer read it; `actualVersion` is where it is now.
        case wrongExpectedVersion
        /// A stored payload or the envelope could not be read.
        case corruptEvent
        /// PostgreSQL failed or could not be reached.
        case database
    }

    public var code: Code
    public var streamID: String?
    public var expected: String?
    public var actualVersion: Int64?
    public var reason: String

    public static func wrongExpectedVersion(stream: String, expected: String, actual: Int64) -> Self {
        Self(code: .wrongExpectedVersion, streamID: stream, expected: expected, actualVersion: actual,
             reason: "stream \(stream) is at version \(actual), expected \(expected)")
    }

    public static func database(_ error: any Error, stream: String? = nil) -> Self {
        Self(code: .database, streamID: stream, reason: String(reflecting: error))
    }

    public var description: String { "event store \(code.rawValue): \(reason)" }
}

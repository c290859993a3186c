public import Foundation

/// An event as the store keeps it: the envelope every consumer sees.
public struct RecordedEvent: Sendable, Hashable {
    public var eventID: UUID
    public var streamID: String
    public var streamType: String
    /// 1 for the stream's first event.
    public var streamVersion: Int64
    /// Position in the store's global log (gaps are possible: rolled-back transactions).
    public var globalPosition: Int64
    public var type: String
    public var schemaVersion: Int
    public var recordedAt: Date
    /// The id shared by everything one request or one business process caused.
    public var correlationID: String
    /// The id of the command or event that directly caused this one.
    public var causationID: String?
    public var metadata: [String: String]
    public var payload: [UInt8]

    public init(
        eventID: UUID, streamID: String, streamType: String, streamVersion: Int64, globalPosition: Int64, type: String,
        schemaVersion: Int, recordedAt: Date, correlationID: String, causationID: String?, metadata: [String: String],
        payload: [UInt8]
    ) {
        self.eventID = eventID
        self.streamID = streamID
        self.streamType = streamType
        self.streamVersion = streamVersion
        self.globalPosition = globalPosition
        self.type = type
        self.schemaVersion = schemaVersion
        self.recordedAt = recordedAt
        self.correlationID = correlationID
        self.causationID = causationID
        self.metadata = metadata
        self.payload = payload
    }

    public var encoded: EncodedEvent { EncodedEvent(type: type, schemaVersion: schemaVersion, payload: payload) }
}

/// An event to append; the store gives it its stream version, global position and time.
public struct NewEvent: Sendable, Hashable {
    public var eventID: UUID
    public var encoded: EncodedEvent
    public var correlationID: String
    public var causationID: String?
    public var metadata: [String: String]

    public init(
        eventID: UUID = UUID(), encoded: EncodedEvent, correlationID: String, causationID: String? = nil,
        metadata: [String: String] = [:]
    ) {
        self.eventID = eventID
        self.encoded = encoded
        self.correlationID = correlationID
        self.causationID = causationID
        self.metadata = metadata
    }
}

/// The version a writer read before deciding; the append fails if the stream moved since.
public enum ExpectedVersion: Sendable, Hashable, CustomStringConvertible {
    /// Append whatever the stream's version (no concurrency check).
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream must be exactly at this version (0 means it must not exist).
    case exact(Int64)

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "no stream"
        case .exact(let version): "\(version)"
        }
    }
}

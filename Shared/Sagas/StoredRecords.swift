import EventSourcing
import Foundation
import Kafka

/// An event as `sagas.parked_events` keeps it: every field, the payload in base64, written as
/// JSON text, so that any bytes an event carries fit the row and come back exactly.
struct StoredEvent: Codable {
    var eventID: UUID
    var streamID: String
    var streamType: String
    var streamVersion: Int64
    var globalPosition: Int64
    var type: String
    var schemaVersion: Int
    var recordedAt: Date
    var correlationID: String
    var causationID: String?
    var metadata: [String: String]
    var payload: Data

    init(_ event: RecordedEvent) {
        eventID = event.eventID
        streamID = event.streamID
        streamType = event.streamType
        streamVersion = event.streamVersion
        globalPosition = event.globalPosition
        type = event.type
        schemaVersion = event.schemaVersion
        recordedAt = event.recordedAt
        correlationID = event.correlationID
        causationID = event.causationID
        metadata = event.metadata
        payload = Data(event.payload)
    }

    var event: RecordedEvent {
        RecordedEvent(
            eventID: eventID, streamID: streamID, streamType: streamType, streamVersion: streamVersion, globalPosition: globalPosition,
            type: type, schemaVersion: schemaVersion, recordedAt: recordedAt, correlationID: correlationID, causationID: causationID,
            metadata: metadata, payload: Array(payload))
    }

    /// JSON text (a NUL in a string is written as the escape `\u0000`, which a text column takes).
    static func text(of event: RecordedEvent) throws -> String {
        String(decoding: try JSONEncoder().encode(StoredEvent(event)), as: UTF8.self)
    }

    static func event(fromText text: String) throws -> RecordedEvent {
        try JSONDecoder().decode(StoredEvent.self, from: Data(text.utf8)).event
    }
}

/// A Kafka record as a `sagas.outbox` row of kind `dead-letter` keeps it: key, value and every
/// header in base64 (jsonb refuses the escape `\u0000`, and a dead letter copies any bytes).
struct StoredKafkaRecord: Codable {
    struct Header: Codable {
        var key: Data
        var value: Data?
    }

    var key: Data?
    var value: Data
    var headers: [Header]

    init(_ message: KafkaOutgoingMessage) {
        key = message.key.map { Data($0) }
        value = Data(message.value)
        headers = message.headers.map { Header(key: Data($0.key.utf8), value: $0.value.map { Data($0) }) }
    }

    func message(topic: String) -> KafkaOutgoingMessage {
        KafkaOutgoingMessage(
            topic: topic, key: key.map(Array.init), value: Array(value),
            headers: headers.map { KafkaHeader(key: String(decoding: $0.key, as: UTF8.self), value: $0.value.map(Array.init)) })
    }

    static func text(of message: KafkaOutgoingMessage) throws -> String {
        String(decoding: try JSONEncoder().encode(StoredKafkaRecord(message)), as: UTF8.self)
    }

    static func message(fromText text: String, topic: String) throws -> KafkaOutgoingMessage {
        try JSONDecoder().decode(StoredKafkaRecord.self, from: Data(text.utf8)).message(topic: topic)
    }
}

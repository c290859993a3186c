import EventSourcing
import Foundation
import Kafka

/// The event as kept in a dead letter (enough to replay it without Kafka).
///
/// PostgreSQL's `jsonb` refuses the escape `\u0000`: an envelope whose text carries a NUL (a
/// hostile record's payload or header) keeps its payload as base64 and its other fields with
/// each NUL written `\0`, so that parking it never fails on the bytes that made it fail.
struct StoredEnvelope: Codable {
    var eventId: String
    var streamId: String
    var streamType: String
    var streamVersion: Int64
    var globalPosition: Int64
    var type: String
    var schemaVersion: Int
    var recordedAt: Date
    var correlationId: String
    var causationId: String?
    var payload: String
    /// Set instead of `payload` when the payload's text holds a NUL.
    var payloadBase64: String?

    init(_ event: RecordedEvent) {
        eventId = event.eventID.uuidString.lowercased()
        streamId = event.streamID
        streamType = event.streamType
        streamVersion = event.streamVersion
        globalPosition = event.globalPosition
        type = event.type
        schemaVersion = event.schemaVersion
        recordedAt = event.recordedAt
        correlationId = event.correlationID
        causationId = event.causationID
        payload = String(decoding: event.payload, as: UTF8.self)
        makeStorable(payloadBytes: event.payload)
    }

    init(record: KafkaConsumedMessage) {
        eventId = ""
        streamId = record.keyString ?? "?"
        streamType = ""
        streamVersion = 0
        globalPosition = 0
        type = "?"
        schemaVersion = 0
        recordedAt = Date()
        correlationId = ""
        causationId = nil
        payload = String(decoding: record.value, as: UTF8.self)
        makeStorable(payloadBytes: record.value)
    }

    private mutating func makeStorable(payloadBytes: [UInt8]) {
        if payloadBytes.contains(0) {
            payloadBase64 = Data(payloadBytes).base64EncodedString()
            payload = ""
        }
        // Identifying fields: kept readable, at a length no index or page minds.
        streamId = StorableText.escaped(streamId, limit: 1_000)
        streamType = StorableText.escaped(streamType, limit: 1_000)
        type = StorableText.escaped(type, limit: 1_000)
        correlationId = StorableText.escaped(correlationId, limit: 1_000)
        causationId = causationId.map { StorableText.escaped($0, limit: 1_000) }
    }

    var payloadBytes: [UInt8] {
        if let payloadBase64, let data = Data(base64Encoded: payloadBase64) { return Array(data) }
        return Array(payload.utf8)
    }

    var event: RecordedEvent? {
        guard let id = UUID(uuidString: eventId) else { return nil }
        return RecordedEvent(
            eventID: id, streamID: streamId, streamType: streamType, streamVersion: streamVersion, globalPosition: globalPosition,
            type: type, schemaVersion: schemaVersion, recordedAt: recordedAt, correlationID: correlationId, causationID: causationId,
            metadata: [:], payload: payloadBytes)
    }
}

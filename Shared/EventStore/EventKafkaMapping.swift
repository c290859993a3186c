public import EventSourcing
import Foundation
public import Kafka

/// An event on Kafka: the payload as the value, the stream id as the key (one stream lives in
/// one partition), the envelope in headers per the CloudEvents Kafka binary binding plus the
/// suite's own (DESIGN.md).
public enum EventKafkaMapping {
    public static func message(for event: RecordedEvent, topic: String) -> KafkaOutgoingMessage {
        var headers = [
            KafkaHeader(key: "ce_id", string: event.eventID.uuidString.lowercased()),
            KafkaHeader(key: "ce_type", string: event.type),
            KafkaHeader(key: "ce_source", string: "checkout/\(event.streamType)"),
            KafkaHeader(key: "ce_specversion", string: "1.0"),
            KafkaHeader(key: "ce_time", string: timestamp(event.recordedAt)),
            KafkaHeader(key: "content-type", string: "application/json"),
            KafkaHeader(key: "stream-id", string: event.streamID),
            KafkaHeader(key: "stream-type", string: event.streamType),
            KafkaHeader(key: "stream-version", string: String(event.streamVersion)),
            KafkaHeader(key: "global-position", string: String(event.globalPosition)),
            KafkaHeader(key: "schema-version", string: String(event.schemaVersion)),
            KafkaHeader(key: "correlation-id", string: event.correlationID),
        ]
        if let causation = event.causationID { headers.append(KafkaHeader(key: "causation-id", string: causation)) }
        return KafkaOutgoingMessage(topic: topic, key: event.streamID, value: event.payload, headers: headers)
    }

    /// Reads an event back from a consumed record; a record without the envelope headers is
    /// rejected with the missing header named (a consumer dead-letters it).
    public static func event(from record: KafkaConsumedMessage) throws(EventEnvelopeError) -> RecordedEvent {
        let headers = record.headers
        func required(_ key: String) throws(EventEnvelopeError) -> String {
            guard let value = headers.string(key), !value.isEmpty else { throw EventEnvelopeError(header: key, reason: "missing") }
            return value
        }
        func number(_ key: String) throws(EventEnvelopeError) -> Int64 {
            let text = try required(key)
            guard let value = Int64(text) else { throw EventEnvelopeError(header: key, reason: "not a number: \(text)") }
            return value
        }
        let idText = try required("ce_id")
        guard let id = UUID(uuidString: idText) else { throw EventEnvelopeError(header: "ce_id", reason: "not a UUID: \(idText)") }
        let timeText = try required("ce_time")
        guard let time = parseTimestamp(timeText) else { throw EventEnvelopeError(header: "ce_time", reason: "not an ISO-8601 time: \(timeText)") }
        let streamID = try required("stream-id")
        return RecordedEvent(
            eventID: id, streamID: streamID,
            streamType: headers.string("stream-type") ?? StreamName(streamID)?.category ?? "",
            streamVersion: try number("stream-version"), globalPosition: try number("global-position"),
            type: try required("ce_type"), schemaVersion: Int(try number("schema-version")), recordedAt: time,
            correlationID: try required("correlation-id"), causationID: headers.string("causation-id"), metadata: [:],
            payload: record.value)
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func parseTimestamp(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)) ?? (try? Date.ISO8601FormatStyle().parse(text))
    }
}

public struct EventEnvelopeError: Error, Sendable, CustomStringConvertible {
    public var header: String
    public var reason: String
    public var description: String { "event header \(header): \(reason)" }
}

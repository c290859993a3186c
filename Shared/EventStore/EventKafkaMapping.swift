public import EventSourcing
import Foundation
public import Kafka
import ServiceSupport

/// An event on Kafka: the payload as the value, the stream id as the key (one stream lives in
/// one partition), the envelope in headers per the CloudEvents Kafka binary binding plus the
/// suite's own (DESIGN.md).
public enum EventKafkaMapping {
    /// `source` is the CloudEvents source (`ce_source`): the owning context and stream type
    /// (`<context>/<stream type>`); the stream type alone when not given.
    public static func message(for event: RecordedEvent, topic: String, source: String? = nil) -> KafkaOutgoingMessage {
        var headers = [
            KafkaHeader(key: "ce_id", string: event.eventID.uuidString.lowercased()),
            KafkaHeader(key: "ce_type", string: event.type),
            KafkaHeader(key: "ce_source", string: source ?? event.streamType),
            KafkaHeader(key: "ce_specversion", string: "1.0"),
            KafkaHeader(key: "ce_time", string: timestamp(event.recordedAt)),
            // The same instant as an integer (microseconds since 1970): what consumers read, as
            // parsing ISO-8601 text per record costs more than the rest of the envelope.
            KafkaHeader(key: "recorded-at-us", string: String(event.recordedAt.epochMicroseconds)),
            KafkaHeader(key: "content-type", string: "application/json"),
            KafkaHeader(key: "stream-id", string: event.streamID),
            KafkaHeader(key: "stream-type", string: event.streamType),
            KafkaHeader(key: "stream-version", string: String(event.streamVersion)),
            KafkaHeader(key: "global-position", string: String(event.globalPosition)),
            KafkaHeader(key: "schema-version", string: String(event.schemaVersion)),
            KafkaHeader(key: "correlation-id", string: event.correlationID),
        ]
        if let causation = event.causationID { headers.append(KafkaHeader(key: "causation-id", string: causation)) }
        // The trace context stored with the event (`traceparent`, ...): the consumer's work
        // continues the trace of the command that appended it.
        headers += TraceHeaders.kafkaHeaders(fromStored: event.metadata)
        return KafkaOutgoingMessage(topic: topic, key: event.streamID, value: event.payload, headers: headers)
    }

    /// Reads an event back from a consumed record, in one pass over its headers; a record
    /// without the envelope headers is rejected with the missing header named (a consumer
    /// dead-letters it). The time comes from `recorded-at-us` when present (records published
    /// before it existed carry only `ce_time`).
    public static func event(from record: KafkaConsumedMessage) throws(EventEnvelopeError) -> RecordedEvent {
        var envelope = Envelope()
        // The first header of a key counts, as `[KafkaHeader].string` reads it.
        for header in record.headers {
            guard let value = header.value else { continue }
            switch header.key {
            case "ce_id": envelope.id = envelope.id ?? value
            case "ce_type": envelope.type = envelope.type ?? value
            case "ce_time": envelope.time = envelope.time ?? value
            case "recorded-at-us": envelope.micros = envelope.micros ?? value
            case "stream-id": envelope.streamID = envelope.streamID ?? value
            case "stream-type": envelope.streamType = envelope.streamType ?? value
            case "stream-version": envelope.streamVersion = envelope.streamVersion ?? value
            case "global-position": envelope.globalPosition = envelope.globalPosition ?? value
            case "schema-version": envelope.schemaVersion = envelope.schemaVersion ?? value
            case "correlation-id": envelope.correlationID = envelope.correlationID ?? value
            case "causation-id": envelope.causationID = envelope.causationID ?? value
            default: continue
            }
        }
        func text(_ bytes: [UInt8]?, _ key: String, maxBytes: Int) throws(EventEnvelopeError) -> String {
            guard let bytes, !bytes.isEmpty else { throw EventEnvelopeError(header: key, reason: "missing") }
            if let problem = EnvelopeText.check(bytes, maxBytes: maxBytes) { throw EventEnvelopeError(header: key, reason: problem) }
            return String(decoding: bytes, as: UTF8.self)
        }
        func number(_ bytes: [UInt8]?, _ key: String) throws(EventEnvelopeError) -> Int64 {
            let text = try text(bytes, key, maxBytes: 20)
            guard let value = Int64(text) else { throw EventEnvelopeError(header: key, reason: "not a number: \(text)") }
            return value
        }
        let idText = try text(envelope.id, "ce_id", maxBytes: 36)
        guard let id = UUID(uuidString: idText) else { throw EventEnvelopeError(header: "ce_id", reason: "not a UUID: \(idText)") }
        // Times outside 1970...9999 are refused: every later conversion (to microseconds, to
        // PostgreSQL's timestamptz, to ISO-8601 text) is then safe.
        let time: Date
        if envelope.micros != nil {
            let micros = try number(envelope.micros, "recorded-at-us")
            guard Self.recordableMicroseconds.contains(micros) else {
                throw EventEnvelopeError(header: "recorded-at-us", reason: "outside 1970-01-01...9999-12-31: \(micros)")
            }
            time = Date(timeIntervalSince1970: Double(micros) / 1_000_000)
        } else {
            let timeText = try text(envelope.time, "ce_time", maxBytes: 64)
            guard let parsed = parseTimestamp(timeText) else { throw EventEnvelopeError(header: "ce_time", reason: "not an ISO-8601 time: \(timeText)") }
            guard Self.recordableSeconds.contains(parsed.timeIntervalSince1970) else {
                throw EventEnvelopeError(header: "ce_time", reason: "outside 1970-01-01...9999-12-31: \(timeText)")
            }
            time = parsed
        }
        // ce_time is ISO-8601 to the millisecond; the store keeps microseconds. Readers that
        // keep the time (read models) take it from the store instead, so that a row does not
        // depend on which path its event took (a record from before `recorded-at-us` existed,
        // or the same event in a rebuild).
        let metadata = envelope.micros == nil ? [Self.timePrecisionKey: "milliseconds"] : [:]
        // Headers that lie would do quiet harm: a version below 1 reads as a redelivery and is
        // skipped, a stream id that disagrees with the key or its type lands on the wrong row.
        // Ids are held to the store's own limits, so that no statement downstream refuses them.
        let streamID = try text(envelope.streamID, "stream-id", maxBytes: PostgresEventStore.Limits.maxStreamIDBytes)
        guard let stream = StreamName(streamID) else { throw EventEnvelopeError(header: "stream-id", reason: "not <category>-<id>: \(streamID)") }
        if let key = record.key, key != Array(streamID.utf8) {
            throw EventEnvelopeError(header: "stream-id", reason: "\(streamID) differs from the record key \(EnvelopeText.quoted(key))")
        }
        let streamType = try envelope.streamType.map { bytes throws(EventEnvelopeError) in
            try text(bytes, "stream-type", maxBytes: PostgresEventStore.Limits.maxStreamIDBytes)
        } ?? stream.category
        guard streamType == stream.category else {
            throw EventEnvelopeError(header: "stream-type", reason: "\(streamType) differs from the stream id's category \(stream.category)")
        }
        let streamVersion = try number(envelope.streamVersion, "stream-version")
        guard streamVersion >= 1 else { throw EventEnvelopeError(header: "stream-version", reason: "must be 1 or more: \(streamVersion)") }
        let globalPosition = try number(envelope.globalPosition, "global-position")
        guard globalPosition >= 0 else { throw EventEnvelopeError(header: "global-position", reason: "must not be negative: \(globalPosition)") }
        let schemaVersion = try number(envelope.schemaVersion, "schema-version")
        guard (1...Int64(Int32.max)).contains(schemaVersion) else {
            throw EventEnvelopeError(header: "schema-version", reason: "must be 1 or more: \(schemaVersion)")
        }
        // What the store itself could never have held cannot be one of its events, and would
        // fail every statement that copies it (jsonb refuses the NUL escape).
        guard record.value.count <= PostgresEventStore.Limits.maxEventBytes else {
            throw EventEnvelopeError(header: "value", reason: "\(record.value.count) bytes; an event is at most \(PostgresEventStore.Limits.maxEventBytes)")
        }
        guard !PostgresEventStore.Limits.containsEscapedNUL(record.value) else {
            throw EventEnvelopeError(header: "value", reason: "a string holds a NUL character (\\u0000), which no stored event can")
        }
        let traceLimit = PostgresEventStore.Limits.maxTraceIDBytes
        return RecordedEvent(
            eventID: id, streamID: streamID, streamType: streamType, streamVersion: streamVersion, globalPosition: globalPosition,
            type: try text(envelope.type, "ce_type", maxBytes: Self.maxEventTypeBytes), schemaVersion: Int(schemaVersion), recordedAt: time,
            correlationID: try text(envelope.correlationID, "correlation-id", maxBytes: traceLimit),
            causationID: try envelope.causationID.map { bytes throws(EventEnvelopeError) in try text(bytes, "causation-id", maxBytes: traceLimit) },
            metadata: metadata, payload: record.value)
    }

    /// Set in `RecordedEvent.metadata` (to "milliseconds") when the record carried only
    /// `ce_time`, so `recordedAt` is cut to the millisecond.
    public static let timePrecisionKey = "recorded-at-precision"

    /// Event type names are code identifiers; this only keeps a hostile one out of indexes.
    static let maxEventTypeBytes = 200
    /// 1970-01-01T00:00:00Z through 9999-12-31T23:59:59.999999Z.
    static let recordableMicroseconds: ClosedRange<Int64> = 0...253_402_300_799_999_999
    static let recordableSeconds: ClosedRange<Double> = 0...253_402_300_799.999_999

    /// The envelope headers' raw values, gathered in one pass.
    private struct Envelope {
        var id: [UInt8]?
        var type: [UInt8]?
        var time: [UInt8]?
        var micros: [UInt8]?
        var streamID: [UInt8]?
        var streamType: [UInt8]?
        var streamVersion: [UInt8]?
        var globalPosition: [UInt8]?
        var schemaVersion: [UInt8]?
        var correlationID: [UInt8]?
        var causationID: [UInt8]?
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

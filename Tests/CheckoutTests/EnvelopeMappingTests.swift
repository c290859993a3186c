import EventSourcing
import EventStore
import Foundation
@testable import Kafka
import SuiteTesting
import Testing

/// The event envelope on Kafka, read back in one pass over the headers.
@Suite struct EnvelopeMappingTests {
    let event = TestEvents.record(
        stream: "order-o1", streamType: "order", version: 3, type: "OrderConfirmed", payload: #"{"orderId":"o1"}"#, position: 42,
        correlation: "corr", schemaVersion: 1, recordedAt: Date(timeIntervalSince1970: 1_800_000_000.123456))

    func consumed(_ message: KafkaOutgoingMessage, headers: [KafkaHeader]? = nil) -> KafkaConsumedMessage {
        KafkaConsumedMessage(
            topic: message.topic, partition: 0, offset: 0, key: message.key, value: message.value, headers: headers ?? message.headers,
            timestampMilliseconds: nil)
    }

    @Test func roundTripKeepsEveryFieldAndMicroseconds() throws {
        let read = try EventKafkaMapping.event(from: consumed(EventKafkaMapping.message(for: event, topic: "t")))
        #expect(read.eventID == event.eventID && read.streamID == "order-o1" && read.streamType == "order")
        #expect(read.streamVersion == 3 && read.globalPosition == 42 && read.type == "OrderConfirmed" && read.schemaVersion == 1)
        #expect(read.correlationID == "corr" && read.payload == event.payload)
        #expect(abs(read.recordedAt.timeIntervalSince1970 - 1_800_000_000.123456) < 0.000_001)
    }

    @Test func recordsWithoutTheIntegerTimeFallBackToCloudEventsTime() throws {
        let message = EventKafkaMapping.message(for: event, topic: "t")
        let older = message.headers.filter { $0.key != "recorded-at-us" }
        let read = try EventKafkaMapping.event(from: consumed(message, headers: older))
        #expect(abs(read.recordedAt.timeIntervalSince1970 - 1_800_000_000.123) < 0.001)
    }

    @Test func aMissingOrBrokenHeaderIsNamed() {
        let message = EventKafkaMapping.message(for: event, topic: "t")
        #expect(throws: EventEnvelopeError.self) { try EventKafkaMapping.event(from: consumed(message, headers: message.headers.filter { $0.key != "stream-id" })) }
        do {
            _ = try EventKafkaMapping.event(
                from: consumed(message, headers: message.headers.map { $0.key == "stream-version" ? KafkaHeader(key: "stream-version", string: "three") : $0 }))
            Issue.record("a broken stream-version was accepted")
        } catch {
            #expect(error.header == "stream-version" && error.reason.contains("three"))
        }
    }

    @Test func theFirstHeaderOfAKeyCounts() throws {
        let message = EventKafkaMapping.message(for: event, topic: "t")
        let read = try EventKafkaMapping.event(from: consumed(message, headers: message.headers + [KafkaHeader(key: "stream-id", string: "order-other")]))
        #expect(read.streamID == "order-o1")
    }

    /// Replaces (or adds) one header and the key, as a hostile producer would.
    func hostile(_ key: String, _ value: [UInt8], recordKey: [UInt8]? = nil) -> KafkaConsumedMessage {
        let message = EventKafkaMapping.message(for: event, topic: "t")
        var headers = message.headers.filter { $0.key != key }
        headers.insert(KafkaHeader(key: key, value: value), at: 0)
        return KafkaConsumedMessage(
            topic: "t", partition: 0, offset: 0, key: recordKey ?? message.key, value: message.value, headers: headers, timestampMilliseconds: nil)
    }

    func refusal(_ record: KafkaConsumedMessage) -> EventEnvelopeError? {
        do {
            _ = try EventKafkaMapping.event(from: record)
            return nil
        } catch {
            return error
        }
    }

    @Test("times no conversion can hold are refused, not trapped on later (issue 22)", arguments: [
        "9223372036854775807", "-9223372036854775808", "253402300800000000", "-1",
    ])
    func timesOutsideTheWindowAreRefused(micros: String) {
        let error = refusal(hostile("recorded-at-us", Array(micros.utf8)))
        #expect(error?.header == "recorded-at-us")
    }

    @Test func theLatestRecordableTimeIsRead() throws {
        let read = try EventKafkaMapping.event(from: hostile("recorded-at-us", Array("253402300799999999".utf8)))
        #expect(read.recordedAt.epochMicroseconds > 253_402_300_799_000_000)
    }

    @Test func aCloudEventsTimeOutsideTheWindowIsRefused() {
        let message = EventKafkaMapping.message(for: event, topic: "t")
        let headers = message.headers.filter { $0.key != "recorded-at-us" && $0.key != "ce_time" } + [KafkaHeader(key: "ce_time", string: "1969-12-31T23:59:59Z")]
        let record = KafkaConsumedMessage(topic: "t", partition: 0, offset: 0, key: message.key, value: message.value, headers: headers, timestampMilliseconds: nil)
        #expect(refusal(record)?.header == "ce_time")
    }

    /// Ids PostgreSQL would refuse (NUL: SQLSTATE 22021; too long for an index: 54000) never
    /// leave the envelope check, and the reason that names them can itself be stored.
    static let hostileIDs: [(String, [UInt8])] = {
        let long: [UInt8] = Array(("order-" + String(repeating: "x", count: 8_000)).utf8)
        let invalidUTF8: [UInt8] = Array("order-".utf8) + [0xC3, 0x28]
        var cases: [(String, [UInt8])] = []
        cases.append(("stream-id", Array("order-o\u{0}x".utf8)))
        cases.append(("stream-id", long))
        cases.append(("stream-id", invalidUTF8))
        cases.append(("correlation-id", Array("c\u{0}".utf8)))
        cases.append(("correlation-id", Array(String(repeating: "c", count: 201).utf8)))
        cases.append(("causation-id", Array("c\u{7}".utf8)))
        cases.append(("ce_type", Array("OrderPlaced\u{0}".utf8)))
        cases.append(("stream-type", Array("ord\u{0}er".utf8)))
        cases.append(("ce_id", Array("\u{0}".utf8)))
        return cases
    }()

    @Test("ids with NUL, control characters, invalid UTF-8 or too many bytes are refused with a storable reason (issue 22)", arguments: hostileIDs.indices)
    func hostileIdsAreRefused(index: Int) {
        let (header, value) = Self.hostileIDs[index]
        let record = hostile(header, value, recordKey: header == "stream-id" ? value : nil)
        guard let error = refusal(record) else {
            Issue.record("\(header) with a hostile value was accepted")
            return
        }
        #expect(error.header == header)
        #expect(!error.description.unicodeScalars.contains { $0.value < 0x20 }, "the reason carries a control character")
        #expect(error.description.utf8.count < 400, "the reason echoes the whole value")
    }

    @Test func aKeyWithANulByteIsRefusedEvenWhenTheHeaderIsClean() {
        let error = refusal(hostile("content-type", Array("application/json".utf8), recordKey: Array("order-o1\u{0}".utf8)))
        #expect(error?.header == "stream-id")
        #expect(error.map { !$0.description.contains("\u{0}") } ?? false)
    }
}

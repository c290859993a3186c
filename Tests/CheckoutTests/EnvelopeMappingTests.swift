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
}

import Checkout
import EventSourcing
import EventStore
import Foundation
@testable import Kafka
import SuiteTesting
import Testing

/// The record path's first step under random hostile input (issue 22): whatever a producer puts
/// on an event topic, reading the envelope and decoding the payload never traps; a record that
/// is read has an envelope every statement downstream accepts, and one that is refused has a
/// reason that can itself be stored and logged.
@Suite struct EnvelopePropertyTests {
    static let seed: UInt64 = 0x5EED_2222

    static func templates() throws -> [KafkaOutgoingMessage] {
        try EventExamples.all.enumerated().map { index, example in
            let stream = "\(example.streamType)-fuzz\(index)"
            let event = TestEvents.record(
                stream: stream, streamType: example.streamType, version: 3, type: example.type,
                payload: String(decoding: try JSONEncoder().encode(example.payload), as: UTF8.self), position: 7,
                schemaVersion: EventExamples.schemaVersion(of: example.type) ?? 1)
            return TestEvents.message(event, topic: "t")
        }
    }

    @Test("20,000 mutated records: no trap; read ones are within every limit, refused ones carry a storable reason")
    func mutatedEnvelopes() throws {
        var fuzzer = RecordFuzzer(seed: Self.seed)
        let templates = try Self.templates()
        var read = 0
        var refused = 0
        for round in 0..<20_000 {
            let message = fuzzer.mutate(templates[round % templates.count])
            let record = KafkaConsumedMessage(
                topic: "t", partition: 0, offset: Int64(round), key: message.key, value: message.value, headers: message.headers,
                timestampMilliseconds: nil)
            do {
                let event = try EventKafkaMapping.event(from: record)
                read += 1
                let ids = [event.streamID, event.streamType, event.type, event.correlationID] + (event.causationID.map { [$0] } ?? [])
                for id in ids {
                    #expect(id.utf8.count <= 200 && !id.unicodeScalars.contains { TextRules.isControl($0) }, "round \(round): \(id.debugDescription)")
                }
                #expect(record.key == nil || record.key == Array(event.streamID.utf8), "round \(round)")
                #expect(event.streamVersion >= 1 && event.schemaVersion >= 1, "round \(round)")
                #expect((0...253_402_300_799_999_999).contains(event.recordedAt.epochMicroseconds), "round \(round)")
                // Decoding the payload may refuse it, never trap.
                _ = try? CheckoutEvent.decode(event)
            } catch {
                refused += 1
                let reason = error.description
                #expect(!reason.unicodeScalars.contains { TextRules.isControl($0) }, "round \(round): \(reason.debugDescription)")
                #expect(reason.utf8.count < 600, "round \(round): a reason of \(reason.utf8.count) bytes")
            }
        }
        #expect(read > 1_000 && refused > 1_000, "the fuzzer reaches both sides: \(read) read, \(refused) refused")
    }
}

import CheckoutSuite
import Checkout
import EventSourcing
import Foundation
import Kafka
import Sagas
import SuiteTesting
import Testing

/// Records on the saga's topics that no service would write (a stream version far beyond the
/// store, ids PostgreSQL refuses) must not stop the saga processor: each is held back or parked,
/// and a valid checkout on the same partition still completes.
@Suite("Saga: records it cannot handle do not hold their partition", .serialized)
struct SagaHostileRecordTests {
    @Test("events far ahead of the event store (stream versions 2^63-1 and 2e9) are held back without a trap; a checkout behind them completes")
    func farAheadHeldBack() async throws {
        try await SagaProcessorHarness.run { harness in
            let farPlaced = SagaProcessorHarness.placed("o-far", sku: "PEN-FAR")
            var beyond = farPlaced
            beyond.streamVersion = Int64.max
            var farPayment = SagaProcessorHarness.event(
                "PaymentAuthorized", stream: "payment-o-far", version: 2_000_000_000, #"{"orderId":"o-far","amountCents":100,"authorizationId":"a"}"#,
                order: "o-far")
            farPayment.streamVersion = 2_000_000_000
            try await harness.send(beyond)
            try await harness.send(farPayment)

            try await harness.completeCheckout("o-ok", sku: "PEN-OK")

            #expect(try await harness.status(of: "o-far") == nil, "the far-ahead events were held back, not handled")
            let positions = try await harness.client.query(
                "SELECT count(*)::int8 FROM sagas.stream_positions WHERE stream_id IN ('order-o-far', 'payment-o-far')", logger: testLogger("q")
            ).collect().first?.decode(Int64.self)
            #expect(positions == 0)
        }
    }

    @Test("a record claiming a time before the saga's arrival positions began cannot set a new stream's position: the real checkout of that order still completes (issue 22)")
    func oldTimeDoesNotPoisonAStream() async throws {
        try await SagaProcessorHarness.run { harness in
            // Not in the event store, recorded "in 1970", far ahead: taken as the stream's first
            // event (arrival positions begin later), it would make the real v1 a duplicate.
            var forged = SagaProcessorHarness.placed("o-old", sku: "PEN-OLD")
            forged.streamVersion = 1_000
            forged.recordedAt = Date(timeIntervalSince1970: 0)
            try await harness.send(forged)
            try await harness.completeCheckout("o-old", sku: "PEN-OLD")
        }
    }

    @Test("an orderId with a NUL, an 8,000-byte orderId and an 8,000-byte stream id are dead-lettered with the envelope check's or PostgreSQL's words; a checkout behind them completes")
    func dataErrorsParked() async throws {
        try await SagaProcessorHarness.run { harness in
            // Random hex: compressed, 8,000 repeated characters would fit an index row.
            let long = (0..<250).map { _ in UUID().uuidString.replacingOccurrences(of: "-", with: "") }.joined()
            // The JSON escape of a NUL: JSON decoders read it as the character U+0000.
            let nul = SagaProcessorHarness.placed(#"o\u0000x"#, sku: "PEN-NUL", stream: "order-o-nul")
            var longOrder = SagaProcessorHarness.placed(long, sku: "PEN-LONG", stream: "order-o-long")
            longOrder.correlationID = "corr-long"  // else the envelope refuses the correlation id first
            let longStream = SagaProcessorHarness.placed("o-long-stream", sku: "PEN-LS", stream: "order-\(long)")
            #expect(String(decoding: nul.payload, as: UTF8.self).contains(#"o\u0000x"#))
            for event in [nul, longOrder, longStream] { try await harness.send(event) }

            try await harness.completeCheckout("o-ok", sku: "PEN-OK")

            let letters = try await harness.kafka.readAll([CheckoutNames.Topics.deadLetters]) { $0.count >= 3 }
            let reasons = letters.map { $0.headers.string("dlq-reason") ?? "" }
            #expect(letters.count == 3, "\(reasons)")
            // The NUL in a payload string and the over-long stream id are refused by the envelope
            // check before any statement; the long orderId reaches PostgreSQL, which refuses it.
            #expect(reasons.filter { $0.contains("NUL character") }.count == 1, "\(reasons)")
            #expect(reasons.filter { $0.contains("stream-id: longer than 200 bytes") }.count == 1, "\(reasons)")
            #expect(reasons.filter { $0.contains("PostgreSQL error 54000") }.count == 1, "\(reasons)")
            #expect(reasons.allSatisfy { $0.utf8.count < 1_000 && !$0.contains("\u{0}") }, "reasons are printable and short")
            #expect(Set(letters.map { $0.headers.string("stream-id") ?? "" }) == ["order-o-nul", "order-o-long", "order-\(long)"], "the records as they came")
            #expect(try await harness.status(of: "o-long-stream") == nil)
        }
    }
}

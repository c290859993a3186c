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

    @Test("an orderId with a NUL, an 8,000-byte orderId and an 8,000-byte stream id are dead-lettered with PostgreSQL's words; a checkout behind them completes")
    func dataErrorsParked() async throws {
        try await SagaProcessorHarness.run { harness in
            // Random hex: compressed, 8,000 repeated characters would fit an index row.
            let long = (0..<250).map { _ in UUID().uuidString.replacingOccurrences(of: "-", with: "") }.joined()
            // The JSON escape of a NUL: JSON decoders read it as the character U+0000.
            let nul = SagaProcessorHarness.placed(#"o\u0000x"#, sku: "PEN-NUL", stream: "order-o-nul")
            let longOrder = SagaProcessorHarness.placed(long, sku: "PEN-LONG", stream: "order-o-long")
            let longStream = SagaProcessorHarness.placed("o-long-stream", sku: "PEN-LS", stream: "order-\(long)")
            #expect(String(decoding: nul.payload, as: UTF8.self).contains(#"o\u0000x"#))
            for event in [nul, longOrder, longStream] { try await harness.send(event) }

            try await harness.completeCheckout("o-ok", sku: "PEN-OK")

            let letters = try await harness.kafka.readAll([CheckoutNames.Topics.deadLetters]) { $0.count >= 3 }
            let reasons = letters.map { $0.headers.string("dlq-reason") ?? "" }
            #expect(letters.count == 3, "\(reasons)")
            #expect(reasons.filter { $0.contains("PostgreSQL error 22021") }.count == 1, "\(reasons)")
            #expect(reasons.filter { $0.contains("PostgreSQL error 54000") }.count == 2, "\(reasons)")
            #expect(reasons.allSatisfy { $0.utf8.count < 1_000 && !$0.contains("\u{0}") }, "reasons are printable and short")
            #expect(Set(letters.map { $0.headers.string("stream-id") ?? "" }) == ["order-o-nul", "order-o-long", "order-\(long)"], "the records as they came")
            #expect(try await harness.status(of: "o-long-stream") == nil)
        }
    }
}

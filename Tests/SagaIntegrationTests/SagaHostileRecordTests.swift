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
}

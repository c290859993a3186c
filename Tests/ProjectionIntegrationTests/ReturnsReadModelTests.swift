import EventSourcing
import Foundation
import ReturnsContext
import SuiteTesting
import Testing

/// Returns' read models, given these events, then these rows (delivered the ways
/// `ProjectionSpecification` does: whole, one by one, at random boundaries, twice).
@Suite struct ReturnsReadModelTests {
    static func events() -> [RecordedEvent] {
        let h = ReadModelSpecificationTests.History()
        h.placed("o1", customer: "alice", sku: "PEN", quantity: 3, price: 150)
        h.placed("o2", customer: "bob", sku: "INK", quantity: 1, price: 500)
        h.add("order-o1", "OrderConfirmed", #"{"orderId":"o1"}"#)
        h.add("order-o2", "OrderCancelled", #"{"orderId":"o2","reason":"out of stock: INK"}"#)
        let lines = #"[{"sku":"PEN","quantity":2,"unitPriceCents":150}]"#
        h.add("return-o1", "ReturnRequested", #"{"returnId":"o1.ra","orderId":"o1","lines":\#(lines),"amountCents":300,"reason":"too many"}"#)
        h.add("return-o1", "ReturnReceived", #"{"returnId":"o1.ra","orderId":"o1","lines":\#(lines),"amountCents":300}"#)
        h.add("return-o1", "ReturnCompleted", #"{"returnId":"o1.ra","orderId":"o1","refundedCents":300}"#)
        h.add("return-o1", "ReturnRequested", #"{"returnId":"o1.rb","orderId":"o1","lines":[{"sku":"PEN","quantity":1,"unitPriceCents":150}],"amountCents":150,"reason":"last"}"#)
        return h.events
    }

    @Test func purchasesKnowWhatWasBoughtAndWhenTheCheckoutCompleted() async throws {
        try await ProjectionSpecification(ReturnsReadModels.purchases)
            .given(Self.events())
            .then(
                "SELECT order_id, lines->0->>'sku', lines->0->>'quantity', completed_at IS NOT NULL FROM read_models.return_purchases ORDER BY order_id",
                [["o1", "PEN", "3", "true"], ["o2", "INK", "1", "false"]])
    }

    @Test func returnsShowStatusAmountsAndTimeline() async throws {
        try await ProjectionSpecification(ReturnsReadModels.returns)
            .given(Self.events())
            .then(
                """
                SELECT return_id, status, amount_cents, refunded_cents, jsonb_array_length(timeline), timeline->-1->>'event'
                FROM read_models.returns ORDER BY return_id
                """,
                [["o1.ra", "completed", "300", "300", "3", "ReturnCompleted"], ["o1.rb", "requested", "150", "0", "1", "ReturnRequested"]])
    }
}

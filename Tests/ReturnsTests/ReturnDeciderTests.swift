import EventSourcing
import Foundation
@testable import Returns
import SuiteTesting
import Testing

/// The rules of a return, as given-when-then over the order's returns stream.
@Suite("Return decider")
struct ReturnDeciderTests {
    static let order = "o-1"
    static let completed = Date(timeIntervalSince1970: 1_800_000_000)
    static let now = completed.addingTimeInterval(86_400)
    static let window: TimeInterval = 30 * 86_400
    static let bought = Purchase(lines: ["PEN": (3, 150), "INK": (1, 500)], completedAt: completed)
    let spec = DeciderSpecification(Return.decider(orderID: order))

    static func request(_ id: String, _ lines: [(String, Int)], purchase: Purchase? = bought, now: Date = now) -> ReturnCommand {
        .request(returnID: id, lines: lines.map { ReturnLine(sku: $0.0, quantity: $0.1) }, reason: "too many", purchase: purchase, now: now, window: window)
    }

    static func requested(_ id: String, _ sku: String, _ quantity: Int, price: Int = 150) -> ReturnEvent {
        .requested(
            ReturnRequested(
                returnId: id, orderId: order, lines: [ReturnLine(sku: sku, quantity: quantity, unitPriceCents: price)], amountCents: quantity * price,
                reason: "too many"))
    }

    @Test("2 of 3 bought units are returned, priced as bought")
    func partialReturn() {
        spec.when(Self.request("o-1.ra", [("PEN", 2)])).then([Self.requested("o-1.ra", "PEN", 2)])
    }

    @Test("more than bought minus already returned is refused, naming the line")
    func overReturn() {
        spec.when(Self.request("o-1.ra", [("INK", 1), ("PEN", 4)])).thenRejects("quantity_exceeds_returnable", field: "lines[1].quantity")
        spec.given(Self.requested("o-1.ra", "PEN", 2)).when(Self.request("o-1.rb", [("PEN", 2)]))
            .thenRejects("quantity_exceeds_returnable", field: "lines[0].quantity")
        spec.given(Self.requested("o-1.ra", "PEN", 2)).when(Self.request("o-1.rb", [("PEN", 1)])).then([Self.requested("o-1.rb", "PEN", 1)])
    }

    @Test("a SKU not bought, no lines, an unknown or uncompleted order, or a closed window is refused")
    func otherRules() {
        spec.when(Self.request("o-1.ra", [("CAP", 1)])).thenRejects("not_bought", field: "lines[0].sku")
        spec.when(Self.request("o-1.ra", [])).thenRejects("invalid_lines", field: "lines")
        spec.when(Self.request("o-1.ra", [("PEN", 0)])).thenRejects("invalid_quantity", field: "lines[0].quantity")
        spec.when(Self.request("o-1.ra", [("PEN", 1)], purchase: nil)).thenRejects("unknown_order")
        spec.when(Self.request("o-1.ra", [("PEN", 1)], purchase: Purchase(lines: ["PEN": (3, 150)], completedAt: nil)))
            .thenRejects("order_not_completed")
        spec.when(Self.request("o-1.ra", [("PEN", 1)], now: Self.completed.addingTimeInterval(Self.window + 1))).thenRejects("return_window_closed")
    }

    @Test("the same return decided again (after a conflict) appends nothing")
    func sameReturnAgain() {
        spec.given(Self.requested("o-1.ra", "PEN", 2)).when(Self.request("o-1.ra", [("PEN", 2)])).then([])
    }

    @Test("received once; completed or refund_failed only after receipt; completed after a failed refund")
    func lifecycle() {
        let received = ReturnEvent.received(
            ReturnReceived(returnId: "o-1.ra", orderId: Self.order, lines: [ReturnLine(sku: "PEN", quantity: 2, unitPriceCents: 150)], amountCents: 300))
        spec.when(.receive(returnID: "o-1.rx")).thenRejects("unknown_return")
        spec.given(Self.requested("o-1.ra", "PEN", 2)).when(.complete(returnID: "o-1.ra", refundedCents: 300)).then([])
        spec.given(Self.requested("o-1.ra", "PEN", 2)).when(.receive(returnID: "o-1.ra")).then([received])
        spec.given(Self.requested("o-1.ra", "PEN", 2), received).when(.receive(returnID: "o-1.ra")).then([])
        let failed = ReturnEvent.refundFailed(ReturnRefundFailed(returnId: "o-1.ra", orderId: Self.order, reason: "declined"))
        spec.given(Self.requested("o-1.ra", "PEN", 2), received).when(.failRefund(returnID: "o-1.ra", reason: "declined")).then([failed])
        spec.given(Self.requested("o-1.ra", "PEN", 2), received, failed).when(.complete(returnID: "o-1.ra", refundedCents: 300))
            .then([.completed(ReturnCompleted(returnId: "o-1.ra", orderId: Self.order, refundedCents: 300))])
    }

    @Test("a return id names its order; anything else is not a return id")
    func returnIDs() {
        let id = Return.newID(orderID: "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11")
        #expect(Return.orderID(ofReturn: id) == "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11")
        #expect(IdentifierRule.isValid(id))
        for bad in ["o-1", "o-1.r", ".r1a2b3c4d", "o-1.r1a2b3c4", "o-1.rzzzzzzzz"] { #expect(Return.orderID(ofReturn: bad) == nil, "\(bad)") }
    }
}

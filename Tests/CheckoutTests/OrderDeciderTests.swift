@testable import Checkout
import EventSourcing
import SuiteTesting
import Testing

@Suite("Order decider")
struct OrderDeciderTests {
    let orderID = "o-1"
    var spec: DeciderSpecification<OrderCommand, OrderState, OrderEvent> { DeciderSpecification(Order.decider(orderID: orderID)) }

    var placed: OrderEvent {
        .placed(
            OrderPlaced(
                orderId: orderID, customerId: "c-1", lines: [OrderLine(sku: "SKU-1", quantity: 2, unitPriceCents: 1250)],
                totalCents: 2500, paymentMethod: "card"))
    }
    var confirmed: OrderEvent { .confirmed(OrderConfirmed(orderId: orderID)) }
    var cancelled: OrderEvent { .cancelled(OrderCancelled(orderId: orderID, reason: "timeout")) }

    private func place(customer: String = "c-1", lines: [OrderLine], method: String = "card") -> OrderCommand {
        .place(customerID: customer, lines: lines, paymentMethod: method)
    }

    // MARK: place

    @Test("placing a valid order emits OrderPlaced with the total computed from its lines")
    func placeValid() {
        let lines = [OrderLine(sku: "SKU-1", quantity: 2, unitPriceCents: 1250), OrderLine(sku: "SKU-2", quantity: 3, unitPriceCents: 100)]
        spec.when(place(lines: lines, method: "card-declined"))
            .then([
                .placed(OrderPlaced(orderId: orderID, customerId: "c-1", lines: lines, totalCents: 2800, paymentMethod: "card-declined"))
            ])
    }

    @Test("an order without lines is rejected")
    func placeNoLines() {
        spec.when(place(lines: [])).thenRejects("no_lines", field: "lines")
    }

    @Test("a line with a non-positive quantity is rejected on that line's quantity", arguments: [0, -1])
    func placeNonPositiveQuantity(quantity: Int) {
        spec.when(place(lines: [OrderLine(sku: "SKU-1", quantity: quantity, unitPriceCents: 100)]))
            .thenRejects("invalid_quantity", field: "lines[0].quantity")
    }

    @Test("a line with a non-positive unit price is rejected on that line's price", arguments: [0, -5])
    func placeNonPositivePrice(price: Int) {
        spec.when(place(lines: [OrderLine(sku: "SKU-1", quantity: 1, unitPriceCents: 1), OrderLine(sku: "SKU-2", quantity: 1, unitPriceCents: price)]))
            .thenRejects("invalid_price", field: "lines[1].unitPriceCents")
    }

    @Test("a line with an empty or blank SKU is rejected", arguments: ["", "   "])
    func placeEmptySKU(sku: String) {
        spec.when(place(lines: [OrderLine(sku: sku, quantity: 1, unitPriceCents: 100)]))
            .thenRejects("invalid_sku", field: "lines[0].sku")
    }

    @Test("an order without a customer is rejected", arguments: ["", "  "])
    func placeEmptyCustomer(customer: String) {
        spec.when(place(customer: customer, lines: [OrderLine(sku: "SKU-1", quantity: 1, unitPriceCents: 100)]))
            .thenRejects("invalid_customer", field: "customerId")
    }

    @Test("an unsupported payment method is rejected")
    func placeUnsupportedPaymentMethod() {
        spec.when(place(lines: [OrderLine(sku: "SKU-1", quantity: 1, unitPriceCents: 100)], method: "cash"))
            .thenRejects("unsupported_payment_method", field: "paymentMethod")
    }

    @Test("prices and quantities over the documented limits are rejected, so a total can never overflow")
    func placeOverLimits() {
        spec.when(place(lines: [OrderLine(sku: "SKU-1", quantity: 2, unitPriceCents: Int.max / 2 + 1)]))
            .thenRejects("invalid_price", field: "lines[0].unitPriceCents")
        spec.when(place(lines: [OrderLine(sku: "SKU-1", quantity: InputLimits.maxQuantity + 1, unitPriceCents: 1)]))
            .thenRejects("invalid_quantity", field: "lines[0].quantity")
        // The largest order the limits allow still has an exact total.
        let largest = Array(
            repeating: OrderLine(sku: "SKU-1", quantity: InputLimits.maxQuantity, unitPriceCents: InputLimits.maxUnitPriceCents),
            count: InputLimits.maxLines)
        let (total, overflow) = (InputLimits.maxQuantity * InputLimits.maxUnitPriceCents).multipliedReportingOverflow(by: InputLimits.maxLines)
        #expect(!overflow)
        spec.when(place(lines: largest)).then([
            .placed(OrderPlaced(orderId: orderID, customerId: "c-1", lines: largest, totalCents: total, paymentMethod: "card"))
        ])
    }

    @Test("placing an order twice is rejected")
    func placeTwice() {
        spec.given(placed).when(place(lines: [OrderLine(sku: "SKU-1", quantity: 1, unitPriceCents: 100)])).thenRejects("order_exists")
    }

    @Test("a placed order is pending with its lines, total and payment method")
    func placedState() {
        let state = spec.given(placed).state
        #expect(state.status == .pending)
        #expect(state.totalCents == 2500)
        #expect(state.paymentMethod == "card")
    }

    // MARK: confirm

    @Test("confirming a pending order emits OrderConfirmed")
    func confirmPending() {
        spec.given(placed).when(.confirm).then([confirmed])
    }

    @Test("confirming a confirmed order again emits nothing")
    func confirmTwice() {
        spec.given(placed, confirmed).when(.confirm).then([])
    }

    @Test("confirming a cancelled order is rejected")
    func confirmAfterCancel() {
        spec.given(placed, cancelled).when(.confirm).thenRejects("order_cancelled")
    }

    @Test("confirming an unknown order is rejected")
    func confirmUnknown() {
        spec.when(.confirm).thenRejects("unknown_order")
    }

    // MARK: cancel

    @Test("cancelling a pending order emits OrderCancelled with the trimmed reason")
    func cancelPending() {
        spec.given(placed).when(.cancel(reason: "  payment declined ")).then([.cancelled(OrderCancelled(orderId: orderID, reason: "payment declined"))])
    }

    @Test("cancelling a cancelled order again emits nothing")
    func cancelTwice() {
        spec.given(placed, cancelled).when(.cancel(reason: "again")).then([])
    }

    @Test("cancelling a confirmed order is rejected")
    func cancelAfterConfirm() {
        spec.given(placed, confirmed).when(.cancel(reason: "too late")).thenRejects("order_confirmed")
    }

    @Test("cancelling an unknown order is rejected")
    func cancelUnknown() {
        spec.when(.cancel(reason: "x")).thenRejects("unknown_order")
    }

    @Test("a blank cancellation reason becomes \"cancelled\"", arguments: ["", "   "])
    func cancelBlankReason(reason: String) {
        spec.given(placed).when(.cancel(reason: reason)).then([.cancelled(OrderCancelled(orderId: orderID, reason: "cancelled"))])
    }
}

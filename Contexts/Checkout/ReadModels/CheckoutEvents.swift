import Checkout
import EventSourcing

enum CheckoutEvents {
    static func decode(_ event: RecordedEvent) throws -> CheckoutEvent { try CheckoutEvent.decode(event) }

    /// The order an event is about, and a line for the order's timeline.
    static func describe(_ event: CheckoutEvent) -> (orderID: String, detail: String) {
        switch event {
        case .order(.placed(let e)): (e.orderId, "placed by \(e.customerId): \(e.lines.count) line(s), \(e.totalCents) cents, \(e.paymentMethod)")
        case .order(.confirmed(let e)): (e.orderId, "confirmed")
        case .order(.cancelled(let e)): (e.orderId, "cancelled: \(e.reason)")
        case .stock(.reserved(let e)): (e.orderId, "reserved \(e.quantity) × \(e.sku)")
        case .stock(.reservationRejected(let e)): (e.orderId, "out of stock: \(e.quantity) × \(e.sku) wanted, \(e.available) available")
        case .stock(.released(let e)): (e.orderId, "released \(e.quantity) × \(e.sku)")
        case .stock(.committed(let e)): (e.orderId, "committed \(e.quantity) × \(e.sku)")
        case .stock(.restocked(let e)): ("", "restocked \(e.quantity) × \(e.sku)")
        case .payment(.authorized(let e)): (e.orderId, "payment authorized (\(e.authorizationId)), \(e.amountCents) cents")
        case .payment(.declined(let e)): (e.orderId, "payment declined: \(e.reason)")
        // (Unchanged by refund ids: rows projected before them must equal a rebuild's.)
        case .payment(.refunded(let e)): (e.orderId, "payment refunded, \(e.amountCents) cents")
        case .payment(.refundDeclined(let e)): (e.orderId, "refund \(e.refundId) of \(e.amountCents) cents declined: \(e.reason)")
        case .customer(.forgotten): ("", "customer forgotten")
        }
    }
}

import Checkout
import EventSourcing

/// Any checkout event, decoded with its stream type's codec (upcasting old versions).
enum CheckoutEvent {
    case order(OrderEvent)
    case stock(StockEvent)
    case payment(PaymentEvent)
}

struct UnknownStreamType: Error, CustomStringConvertible {
    var type: String
    var description: String { "no checkout codec for stream type \(type)" }
}

enum CheckoutEvents {
    static func decode(_ event: RecordedEvent) throws -> CheckoutEvent {
        switch event.streamType {
        case Order.category: .order(try Order.codec.decode(event.encoded))
        case Stock.category: .stock(try Stock.codec.decode(event.encoded))
        case Payment.category: .payment(try Payment.codec.decode(event.encoded))
        default: throw UnknownStreamType(type: event.streamType)
        }
    }

    /// The order an event is about, and a line for the order's timeline.
    static func describe(_ event: RecordedEvent) throws -> (orderID: String, detail: String) {
        switch try decode(event) {
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
        case .payment(.refunded(let e)): (e.orderId, "payment refunded, \(e.amountCents) cents")
        }
    }
}

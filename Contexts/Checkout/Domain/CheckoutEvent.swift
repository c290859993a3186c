public import EventSourcing

/// Any checkout event, decoded with its stream type's codec (upcasting old versions).
public enum CheckoutEvent: Sendable, Equatable {
    case order(OrderEvent)
    case stock(StockEvent)
    case payment(PaymentEvent)
    case customer(CustomerEvent)

    /// Refuses a type or version the codecs do not know and numbers no checkout event carries
    /// (`checkBounds`).
    public static func decode(_ event: RecordedEvent) throws -> CheckoutEvent {
        let decoded: CheckoutEvent =
            switch event.streamType {
            case Order.category: .order(try Order.codec.decode(event.encoded))
            case Stock.category: .stock(try Stock.codec.decode(event.encoded))
            case Payment.category: .payment(try Payment.codec.decode(event.encoded))
            case Customer.category: .customer(try Customer.codec.decode(event.encoded))
            default: throw UnknownStreamType(type: event.streamType)
            }
        try decoded.checkBounds()
        return decoded
    }

    /// The order the event is about; nil for events of no order (a restock).
    public var orderID: String? {
        switch self {
        case .order(.placed(let e)): e.orderId
        case .order(.confirmed(let e)): e.orderId
        case .order(.cancelled(let e)): e.orderId
        case .stock(.restocked): nil
        case .stock(.reserved(let e)): e.orderId
        case .stock(.reservationRejected(let e)): e.orderId
        case .stock(.released(let e)): e.orderId
        case .stock(.committed(let e)): e.orderId
        case .payment(.authorized(let e)): e.orderId
        case .payment(.declined(let e)): e.orderId
        case .payment(.refunded(let e)): e.orderId
        case .payment(.refundDeclined(let e)): e.orderId
        case .customer: nil
        }
    }
}

public struct UnknownStreamType: Error, CustomStringConvertible, Sendable {
    public var type: String
    public var description: String { "no checkout codec for stream type \(type)" }
}

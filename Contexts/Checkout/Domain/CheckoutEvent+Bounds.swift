/// Numbers an event of the suite can carry, checked when it is read: every event the deciders
/// write is within them (`InputLimits`), and a record on a topic written by anyone is not taken
/// on trust — a quantity of Int.min negated, or two lines of Int.max added up, would trap the
/// consumer that folds them, on every restart. An event outside them is refused like one that
/// cannot be decoded (parked, with the field named).
extension CheckoutEvent {
    /// The most of one SKU an order can hold: every line of it at the largest quantity.
    static let maxQuantityPerSKU = InputLimits.maxLines * InputLimits.maxQuantity
    /// The largest total an order can have.
    static let maxAmountCents = InputLimits.maxLines * InputLimits.maxQuantity * InputLimits.maxUnitPriceCents

    func checkBounds() throws(EventOutOfBounds) {
        switch self {
        case .order(.placed(let e)):
            guard (1...InputLimits.maxLines).contains(e.lines.count) else { throw EventOutOfBounds(field: "lines", value: e.lines.count) }
            for line in e.lines {
                try Self.check(line.quantity, "lines[].quantity", 1...InputLimits.maxQuantity)
                try Self.check(line.unitPriceCents, "lines[].unitPriceCents", 0...InputLimits.maxUnitPriceCents)
            }
            try Self.check(e.totalCents, "totalCents", 0...Self.maxAmountCents)
        case .stock(.restocked(let e)): try Self.check(e.quantity, "quantity", 1...InputLimits.maxQuantity)
        case .stock(.reserved(let e)): try Self.check(e.quantity, "quantity", 0...Self.maxQuantityPerSKU)
        case .stock(.reservationRejected(let e)): try Self.check(e.quantity, "quantity", 0...Self.maxQuantityPerSKU)
        case .stock(.released(let e)): try Self.check(e.quantity, "quantity", 0...Self.maxQuantityPerSKU)
        case .stock(.committed(let e)): try Self.check(e.quantity, "quantity", 0...Self.maxQuantityPerSKU)
        case .payment(.authorized(let e)): try Self.check(e.amountCents, "amountCents", 0...Self.maxAmountCents)
        case .payment(.declined(let e)): try Self.check(e.amountCents, "amountCents", 0...Self.maxAmountCents)
        case .payment(.refunded(let e)): try Self.check(e.amountCents, "amountCents", 0...Self.maxAmountCents)
        // What was asked: a declined request may have asked for nothing or less.
        case .payment(.refundDeclined(let e)): try Self.check(e.amountCents, "amountCents", -Self.maxAmountCents...Self.maxAmountCents)
        case .order(.confirmed), .order(.cancelled), .customer: return
        }
    }

    private static func check(_ value: Int, _ field: String, _ bounds: ClosedRange<Int>) throws(EventOutOfBounds) {
        guard bounds.contains(value) else { throw EventOutOfBounds(field: field, value: value) }
    }
}

/// A number outside what the suite's events can carry.
public struct EventOutOfBounds: Error, CustomStringConvertible, Sendable {
    public var field: String
    public var value: Int
    public var description: String { "\(field) \(value) is outside what a checkout event can carry" }
}

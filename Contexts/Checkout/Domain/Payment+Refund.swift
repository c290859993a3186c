import EventSourcing

/// Refunds of a captured payment, whole or in parts, each named by its requester (the checkout
/// saga's compensation, a return of goods): never more than was captured, and never one refund
/// id twice.
extension Payment {
    static func decideRefund(_ amount: Int?, refundID: String, _ state: PaymentState, orderID: String) throws(DomainError) -> [PaymentEvent] {
        try InputLimits.checkRefundID(refundID, field: "refundId")
        switch state.status {
        case .none, .declined: throw DomainError("nothing_to_refund", "payment of order \(orderID) was not authorized")
        case .authorized, .partiallyRefunded, .refunded: break
        }
        // Paid already: a resent request changes nothing. (A declined id is decided again: its
        // requester, retrying, hears an answer; a resent command is caught by the command log.)
        guard !state.refundIDs.contains(refundID) else { return [] }
        let asked = amount ?? state.refundableCents
        // A number no order can hold is a malformed request, not an answer anyone waits for;
        // it would also be refused when the event is read (`CheckoutEvent.checkBounds`).
        // (A range check: `abs` of Int.min traps.)
        guard (-CheckoutEvent.maxAmountCents...CheckoutEvent.maxAmountCents).contains(asked) else {
            throw DomainError("invalid_amount", "amount must be at most \(CheckoutEvent.maxAmountCents) cents", field: "amountCents")
        }
        func declined(_ reason: String) -> [PaymentEvent] {
            [.refundDeclined(PaymentRefundDeclined(orderId: orderID, refundId: refundID, amountCents: asked, reason: reason))]
        }
        guard asked > 0 else {
            return declined(amount == nil ? "nothing left to refund" : "amount must be positive")
        }
        guard asked <= state.refundableCents else {
            return declined("\(asked) cents exceeds the \(state.refundableCents) cents captured and not yet refunded")
        }
        return [.refunded(PaymentRefunded(orderId: orderID, amountCents: asked, refundId: refundID))]
    }
}

/// A stored payment payload that lacks what its version must have.
struct MalformedPayment: Error, CustomStringConvertible {
    var field: String
    var description: String { "payment payload has no \(field)" }
}

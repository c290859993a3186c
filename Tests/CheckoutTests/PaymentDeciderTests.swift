@testable import Checkout
import EventSourcing
import SuiteTesting
import Testing

@Suite("Payment decider")
struct PaymentDeciderTests {
    let orderID = "o-1"
    var spec: DeciderSpecification<PaymentCommand, PaymentState, PaymentEvent> { DeciderSpecification(Payment.decider(orderID: orderID)) }

    var authorized: PaymentEvent { .authorized(PaymentAuthorized(orderId: orderID, amountCents: 2500, authorizationId: "auth-\(orderID)")) }
    var declined: PaymentEvent { .declined(PaymentDeclined(orderId: orderID, amountCents: 2500, reason: "card declined by issuer")) }
    var refunded: PaymentEvent { .refunded(PaymentRefunded(orderId: orderID, amountCents: 2500, refundId: "checkout-\(orderID)")) }

    @Test("authorizing by card emits PaymentAuthorized with authorization id auth-<orderId>")
    func authorizeCard() {
        spec.when(.authorize(amountCents: 2500, method: "card")).then([authorized])
    }

    @Test("authorizing with card-declined emits PaymentDeclined")
    func authorizeDeclined() {
        spec.when(.authorize(amountCents: 2500, method: "card-declined")).then([declined])
    }

    @Test("authorizing with card-silent emits nothing (the gateway never answers)")
    func authorizeSilent() {
        spec.when(.authorize(amountCents: 2500, method: "card-silent")).then([])
    }

    @Test("authorizing with an unknown method is declined")
    func authorizeUnknownMethod() {
        spec.when(.authorize(amountCents: 2500, method: "cash"))
            .then([.declined(PaymentDeclined(orderId: orderID, amountCents: 2500, reason: "unsupported payment method cash"))])
    }

    @Test("authorizing a non-positive amount is rejected", arguments: [0, -1])
    func authorizeNonPositiveAmount(amount: Int) {
        spec.when(.authorize(amountCents: amount, method: "card")).thenRejects("invalid_amount", field: "amountCents")
    }

    @Test("authorizing an already authorized payment again emits nothing")
    func authorizeTwice() {
        spec.given(authorized).when(.authorize(amountCents: 2500, method: "card")).then([])
    }

    @Test("authorizing an already declined payment again emits nothing")
    func authorizeAfterDecline() {
        spec.given(declined).when(.authorize(amountCents: 2500, method: "card")).then([])
    }

    func refunded(_ cents: Int, _ refundID: String) -> PaymentEvent {
        .refunded(PaymentRefunded(orderId: orderID, amountCents: cents, refundId: refundID))
    }
    func refundDeclined(_ cents: Int, _ refundID: String, _ reason: String) -> PaymentEvent {
        .refundDeclined(PaymentRefundDeclined(orderId: orderID, refundId: refundID, amountCents: cents, reason: reason))
    }

    @Test("the checkout's refund (no amount) of an authorized payment emits PaymentRefunded for the authorized amount")
    func refundAfterAuthorize() {
        spec.given(authorized).when(.refund(amountCents: nil, refundId: "checkout-o-1")).then([refunded])
    }

    @Test("the checkout's refund asked again emits nothing")
    func refundTwice() {
        spec.given(authorized, refunded).when(.refund(amountCents: nil, refundId: "checkout-o-1")).then([])
    }

    @Test("refunding a payment that was never authorized is rejected")
    func refundWithoutAuthorization() {
        spec.when(.refund(amountCents: nil, refundId: "checkout-o-1")).thenRejects("nothing_to_refund")
        spec.when(.refund(amountCents: 100, refundId: "return-1")).thenRejects("nothing_to_refund")
    }

    @Test("refunding a declined payment is rejected")
    func refundAfterDecline() {
        spec.given(declined).when(.refund(amountCents: 100, refundId: "return-1")).thenRejects("nothing_to_refund")
    }

    // MARK: - Partial refunds

    @Test("a partial refund emits PaymentRefunded for that amount under its refund id")
    func partialRefund() {
        spec.given(authorized).when(.refund(amountCents: 1000, refundId: "return-1")).then([refunded(1000, "return-1")])
        let state = Payment.decider(orderID: orderID).fold([authorized, refunded(1000, "return-1")])
        #expect(state.status == .partiallyRefunded && state.refundedCents == 1000 && state.refundableCents == 1500)
    }

    @Test("two partial refunds by different ids are both paid, up to the whole payment")
    func twoPartialRefunds() {
        spec.given(authorized, refunded(1000, "return-1")).when(.refund(amountCents: 1500, refundId: "return-2")).then([refunded(1500, "return-2")])
        let state = Payment.decider(orderID: orderID).fold([authorized, refunded(1000, "return-1"), refunded(1500, "return-2")])
        #expect(state.status == .refunded && state.refundedCents == 2500 && state.refundIDs == ["return-1", "return-2"])
    }

    @Test("a refund of more than is left is declined with PaymentRefundDeclined, and pays nothing")
    func overRefundDeclined() {
        spec.given(authorized, refunded(2000, "return-1")).when(.refund(amountCents: 501, refundId: "return-2"))
            .then([refundDeclined(501, "return-2", "501 cents exceeds the 500 cents captured and not yet refunded")])
        spec.given(authorized).when(.refund(amountCents: 2501, refundId: "return-1"))
            .then([refundDeclined(2501, "return-1", "2501 cents exceeds the 2500 cents captured and not yet refunded")])
        let state = Payment.decider(orderID: orderID).fold([authorized, refundDeclined(2501, "return-1", "too much")])
        #expect(state.refundedCents == 0 && state.status == .authorized)
    }

    @Test("a refund id already paid is not paid again, whatever amount the repeat asks")
    func duplicateRefundIDIsANoOp() {
        spec.given(authorized, refunded(1000, "return-1")).when(.refund(amountCents: 1000, refundId: "return-1")).then([])
        spec.given(authorized, refunded(1000, "return-1")).when(.refund(amountCents: 200, refundId: "return-1")).then([])
        spec.given(authorized, refunded(1000, "return-1")).when(.refund(amountCents: nil, refundId: "return-1")).then([])
    }

    @Test("a refund id declined before may be asked again and is decided again (an operator's retry hears an answer)")
    func declinedRefundIDIsDecidedAgain() {
        spec.given(authorized, refundDeclined(9000, "return-1", "too much")).when(.refund(amountCents: 100, refundId: "return-1"))
            .then([refunded(100, "return-1")])
    }

    @Test("a refund without an amount gives back whole of what is left")
    func refundOfWholeRemaining() {
        spec.given(authorized, refunded(1000, "return-1")).when(.refund(amountCents: nil, refundId: "checkout-o-1"))
            .then([refunded(1500, "checkout-o-1")])
    }

    @Test("a refund without an amount when nothing is left is declined (its requester hears it)")
    func refundOfNothingLeftDeclined() {
        spec.given(authorized, refunded(2500, "return-1")).when(.refund(amountCents: nil, refundId: "checkout-o-1"))
            .then([refundDeclined(0, "checkout-o-1", "nothing left to refund")])
    }

    @Test("a refund of zero or less is declined", arguments: [0, -1])
    func nonPositiveRefundDeclined(amount: Int) {
        spec.given(authorized).when(.refund(amountCents: amount, refundId: "return-1"))
            .then([refundDeclined(amount, "return-1", "amount must be positive")])
    }

    @Test("a refund id outside the id rule, or an amount no order can hold, is rejected")
    func malformedRefundRejected() {
        spec.given(authorized).when(.refund(amountCents: 100, refundId: "")).thenRejects("invalid_refund_id", field: "refundId")
        spec.given(authorized).when(.refund(amountCents: 100, refundId: "return 1")).thenRejects("invalid_refund_id", field: "refundId")
        spec.given(authorized).when(.refund(amountCents: .max, refundId: "return-1")).thenRejects("invalid_amount", field: "amountCents")
        spec.given(authorized).when(.refund(amountCents: .min, refundId: "return-1")).thenRejects("invalid_amount", field: "amountCents")
    }

    @Test("a v1 PaymentRefunded (read as the checkout's refund) settles the checkout's refund: asking it again emits nothing")
    func legacyRefundCountsAsTheCheckouts() throws {
        let v1 = EncodedEvent(type: "PaymentRefunded", schemaVersion: 1, payload: Array(#"{"orderId":"o-1","amountCents":2500}"#.utf8))
        let legacy = try Payment.codec.decode(v1)
        #expect(legacy == refunded)
        spec.given(authorized, legacy).when(.refund(amountCents: nil, refundId: Payment.checkoutRefundID(orderID: orderID))).then([])
    }

    @Test("300 random refund sequences never refund more than was captured, nor one refund id twice")
    func randomRefundsKeepTheGuarantees() {
        let decider = Payment.decider(orderID: orderID)
        var generator = LCG(seed: 0xF00D)
        let ids = ["checkout-o-1", "return-1", "return-2", "return-3", "return-4"]
        for sequence in 0..<300 {
            var history = [authorized]
            for _ in 0..<8 {
                let amount: Int? = Int.random(in: 0..<5, using: &generator) == 0 ? nil : Int.random(in: -100...1800, using: &generator)
                let id = ids[Int.random(in: 0..<ids.count, using: &generator)]
                // A rejection (an amount no order can hold) appends nothing.
                guard let events = try? decider.decide(.refund(amountCents: amount, refundId: id), decider.fold(history)) else { continue }
                history += events
            }
            var paid: [String: Int] = [:]
            for case .refunded(let e) in history { paid[e.refundId, default: 0] += 1 }
            let total = history.reduce(0) { sum, event in if case .refunded(let e) = event { sum + e.amountCents } else { sum } }
            #expect(total <= 2500, "sequence \(sequence): \(total) cents refunded of 2500")
            #expect(paid.values.allSatisfy { $0 == 1 }, "sequence \(sequence): \(paid)")
        }
    }
}

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
    var refunded: PaymentEvent { .refunded(PaymentRefunded(orderId: orderID, amountCents: 2500)) }

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

    @Test("refunding an authorized payment emits PaymentRefunded for the authorized amount")
    func refundAfterAuthorize() {
        spec.given(authorized).when(.refund).then([refunded])
    }

    @Test("refunding a refunded payment again emits nothing")
    func refundTwice() {
        spec.given(authorized, refunded).when(.refund).then([])
    }

    @Test("refunding a payment that was never authorized is rejected")
    func refundWithoutAuthorization() {
        spec.when(.refund).thenRejects("nothing_to_refund")
    }

    @Test("refunding a declined payment is rejected")
    func refundAfterDecline() {
        spec.given(declined).when(.refund).thenRejects("nothing_to_refund")
    }
}

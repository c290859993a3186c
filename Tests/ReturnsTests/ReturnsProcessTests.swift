@testable import Checkout
import EventSourcing
import Foundation
@testable import Returns
import SuiteTesting
import Testing

/// The returns process: received -> restock and refund -> completed; a declined or unanswered
/// refund -> refund_failed, retried by an operator.
@Suite("Returns process")
struct ReturnsProcessTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let id = "o-1.r1a2b3c4d"
    let process = ReturnsProcess(refundDeadline: .seconds(10), commandTopic: { "\($0).commands" })
    var spec: SagaSpecification<ReturnsProcess> { SagaSpecification(process, now: Self.now) }

    static func event<Payload: Encodable>(_ type: String, stream: String, _ payload: Payload) -> RecordedEvent {
        let json = String(decoding: (try? EventJSON.encoder().encode(payload)) ?? Data(), as: UTF8.self)
        return TestEvents.record(
            stream: stream, streamType: String(stream.prefix { $0 != "-" }), version: 1, type: type, payload: json,
            schemaVersion: type == "PaymentRefunded" ? 2 : 1)
    }

    static let received = event(
        "ReturnReceived", stream: "return-o-1",
        ReturnReceived(returnId: id, orderId: "o-1", lines: [ReturnLine(sku: "PEN", quantity: 2, unitPriceCents: 150)], amountCents: 300))
    static func refunded(_ refundID: String = id) -> RecordedEvent {
        event("PaymentRefunded", stream: "payment-o-1", PaymentRefunded(orderId: "o-1", amountCents: 300, refundId: refundID))
    }
    static let declined = event(
        "PaymentRefundDeclined", stream: "payment-o-1", PaymentRefundDeclined(orderId: "o-1", refundId: id, amountCents: 300, reason: "exceeds captured"))

    @Test("received: restock each line and refund the amount under the return's id, with a deadline")
    func starts() throws {
        let reaction = spec.when(Self.received).then(
            status: .running, step: "refunding", sends: ["RestockStock", "RefundPayment"],
            commandIDs: ["returns:\(Self.id):restock:PEN", "returns:\(Self.id):refund:1"], deadline: .at(Self.now.addingTimeInterval(10)))
        let refund = try JSONDecoder().decode(CheckoutCommandMessage.self, from: Data(try #require(reaction?.commands.last?.payload)))
        #expect(refund.refundId == Self.id && refund.amountCents == 300 && refund.correlationId == Self.id)
        #expect(reaction?.commands.map(\.topic) == [process.commandTopic("checkout"), process.commandTopic("checkout")])
    }

    @Test("its refund paid: the return is completed with the amount")
    func completes() {
        spec.given(Self.received).when(Self.refunded()).then(status: .completed, step: "completed", sends: ["CompleteReturn"], deadline: SagaDeadline.none)
    }

    @Test("only its own refunds reach it: another refund id names another instance")
    func foreignRefund() {
        #expect(process.correlationID(of: Self.refunded("checkout-o-1")) == "checkout-o-1")
        #expect(process.correlationID(of: Self.refunded()) == Self.id)
        #expect(process.correlationID(of: Self.event("PaymentAuthorized", stream: "payment-o-1", PaymentAuthorized(orderId: "o-1", amountCents: 1, authorizationId: "a"))) == nil)
        spec.when(Self.refunded()).thenIgnored()
    }

    @Test("a received return this code cannot read starts no silent nothing: its instance fails with the error")
    func unreadableReceipt() {
        let broken = TestEvents.record(
            stream: "return-o-1", streamType: "return", version: 2, type: "ReturnReceived", payload: #"{"returnId":"\#(Self.id)","lines":"?"}"#)
        #expect(process.correlationID(of: broken) == Self.id)
        spec.when(broken).thenThrows()
    }

    @Test("declined or unanswered: refund_failed, the process failed for an operator")
    func fails() {
        spec.given(Self.received).when(Self.declined).then(status: .failed, step: "refund_failed", sends: ["FailReturnRefund"])
        spec.given(Self.received).whenDeadlinePassed().then(status: .failed, step: "refund_failed", sends: ["FailReturnRefund"])
    }

    @Test("an operator's retry asks again under a new command id and the same refund id; a late answer completes it")
    func retries() throws {
        let reaction = spec.given(Self.received).givenDeadlinePassed().whenRetried().then(
            status: .running, step: "refunding", commandIDs: ["returns:\(Self.id):refund:2"], deadline: .at(Self.now.addingTimeInterval(10)))
        let refund = try JSONDecoder().decode(CheckoutCommandMessage.self, from: Data(try #require(reaction?.commands.first?.payload)))
        #expect(refund.refundId == Self.id, "the payment pays a refund id once: the retry must not be a new refund")
        spec.given(Self.received).givenDeadlinePassed().when(Self.refunded()).then(status: .completed, sends: ["CompleteReturn"])
    }
}

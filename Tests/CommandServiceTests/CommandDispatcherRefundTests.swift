@testable import Checkout
import CheckoutSuite
@testable import CheckoutContext
import EventSourcing
import EventStore
import SuiteTesting
import Testing

/// What another context (returns) sends on the command channel: partial refunds under their own
/// refund ids, and restocks; and a refund message from before refund ids (the saga's).
@Suite("Refund and restock commands through the dispatcher")
struct CommandDispatcherRefundTests {
    @Test("partial refunds by refund id are paid once each; an old refund message takes the rest as the checkout's; a restock restocks")
    func refundsAndRestock() async throws {
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            let commands = CheckoutCommands(store: store)
            func message(_ id: String, _ kind: CheckoutCommandMessage.Kind, amount: Int? = nil, refundID: String? = nil, sku: String? = nil, quantity: Int? = nil)
                -> CheckoutCommandMessage
            {
                CheckoutCommandMessage(
                    commandId: id, type: kind, orderId: "o-1", sku: sku, quantity: quantity, amountCents: amount,
                    paymentMethod: kind == .authorizePayment ? "card" : nil, refundId: refundID, correlationId: "o-1")
            }
            try await CheckoutCommandChannel.execute(message("authorize", .authorizePayment, amount: 1000), with: commands)
            try await CheckoutCommandChannel.execute(message("return-1", .refundPayment, amount: 300, refundID: "return-1"), with: commands)
            // The same refund asked again under another command id (a returns process retrying).
            try await CheckoutCommandChannel.execute(message("return-1-again", .refundPayment, amount: 300, refundID: "return-1"), with: commands)
            try await CheckoutCommandChannel.execute(message("return-2", .refundPayment, amount: 900, refundID: "return-2"), with: commands)
            try await CheckoutCommandChannel.execute(message("checkout:o-1:RefundPayment", .refundPayment), with: commands)
            try await CheckoutCommandChannel.execute(message("restock-1", .restockStock, sku: "PEN", quantity: 2), with: commands)

            let payment = try await store.readStream(Payment.stream("o-1").description).map { try Payment.codec.decode($0.encoded) }
            #expect(
                payment == [
                    .authorized(PaymentAuthorized(orderId: "o-1", amountCents: 1000, authorizationId: "auth-o-1")),
                    .refunded(PaymentRefunded(orderId: "o-1", amountCents: 300, refundId: "return-1")),
                    .refundDeclined(
                        PaymentRefundDeclined(
                            orderId: "o-1", refundId: "return-2", amountCents: 900, reason: "900 cents exceeds the 700 cents captured and not yet refunded")),
                    .refunded(PaymentRefunded(orderId: "o-1", amountCents: 700, refundId: "checkout-o-1")),
                ])
            let stock = try await store.readStream(Stock.stream("PEN").description).map { try Stock.codec.decode($0.encoded) }
            #expect(stock == [.restocked(StockRestocked(sku: "PEN", quantity: 2))])
        }
    }
}

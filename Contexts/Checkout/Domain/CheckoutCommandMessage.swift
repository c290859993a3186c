
/// A command on the `checkout.commands` topic (from the saga, or another context, to the command
/// service), keyed by the target stream. `commandId` is deterministic, so a redelivered or
/// retried command is recognised and executed once.
public struct CheckoutCommandMessage: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case reserveStock = "ReserveStock"
        case releaseStock = "ReleaseStock"
        case commitStock = "CommitStock"
        case authorizePayment = "AuthorizePayment"
        case refundPayment = "RefundPayment"
        /// Goods back on the shelf (a return): `sku` and `quantity`; `orderId` names the order
        /// they came back from.
        case restockStock = "RestockStock"
        case confirmOrder = "ConfirmOrder"
        case cancelOrder = "CancelOrder"
    }

    public var commandId: String
    public var type: Kind
    public var orderId: String
    public var sku: String?
    public var quantity: Int?
    public var amountCents: Int?
    public var paymentMethod: String?
    public var reason: String?
    /// RefundPayment: which refund (paid at most once). Absent in messages of versions before
    /// partial refunds, which only the checkout saga sent: its own (`Payment.checkoutRefundID`).
    /// `amountCents` absent: all that is not refunded yet.
    public var refundId: String?
    public var correlationId: String
    public var causationId: String?

    public init(
        commandId: String, type: Kind, orderId: String, sku: String? = nil, quantity: Int? = nil, amountCents: Int? = nil,
        paymentMethod: String? = nil, reason: String? = nil, refundId: String? = nil, correlationId: String, causationId: String? = nil
    ) {
        self.commandId = commandId
        self.type = type
        self.orderId = orderId
        self.sku = sku
        self.quantity = quantity
        self.amountCents = amountCents
        self.paymentMethod = paymentMethod
        self.reason = reason
        self.refundId = refundId
        self.correlationId = correlationId
        self.causationId = causationId
    }

    /// The stream the command is about: the Kafka key, so one stream's commands stay in order.
    public var targetStream: String {
        switch type {
        case .reserveStock, .releaseStock, .commitStock, .restockStock: Stock.stream(sku ?? "").description
        case .authorizePayment, .refundPayment: Payment.stream(orderId).description
        case .confirmOrder, .cancelOrder: Order.stream(orderId).description
        }
    }
}


/// A command on the `checkout.commands` topic (from the saga to the command service), keyed by
/// the target stream. `commandId` is deterministic, so a redelivered or retried command is
/// recognised and executed once.
public struct CheckoutCommandMessage: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case reserveStock = "ReserveStock"
        case releaseStock = "ReleaseStock"
        case commitStock = "CommitStock"
        case authorizePayment = "AuthorizePayment"
        case refundPayment = "RefundPayment"
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
    public var correlationId: String
    public var causationId: String?

    public init(
        commandId: String, type: Kind, orderId: String, sku: String? = nil, quantity: Int? = nil, amountCents: Int? = nil,
        paymentMethod: String? = nil, reason: String? = nil, correlationId: String, causationId: String? = nil
    ) {
        self.commandId = commandId
        self.type = type
        self.orderId = orderId
        self.sku = sku
        self.quantity = quantity
        self.amountCents = amountCents
        self.paymentMethod = paymentMethod
        self.reason = reason
        self.correlationId = correlationId
        self.causationId = causationId
    }

    /// The stream the command is about: the Kafka key, so one stream's commands stay in order.
    public var targetStream: String {
        switch type {
        case .reserveStock, .releaseStock, .commitStock: Stock.stream(sku ?? "").description
        case .authorizePayment, .refundPayment: Payment.stream(orderId).description
        case .confirmOrder, .cancelOrder: Order.stream(orderId).description
        }
    }
}

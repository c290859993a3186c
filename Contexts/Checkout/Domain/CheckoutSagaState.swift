import EventSourcing

/// What the checkout saga knows about one order. Sets of SKUs record which replies came, so a
/// reply counted once is never counted twice (the runtime also drops redelivered events).
public struct CheckoutSagaState: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        case reserving, authorizing, confirming, committing
        case releasing, cancelling
        case completed, compensated

        public var isCompensating: Bool { self == .releasing || self == .cancelling }
        public var isTerminal: Bool { self == .completed || self == .compensated }
    }

    public var orderID: String
    /// The checkout's correlation id (from the request that placed the order), carried by
    /// every command so one checkout can be followed through all three services.
    public var correlationID: String
    /// Quantity per SKU (lines of the same SKU added up: one Stock stream, one reservation).
    public var quantities: [String: Int]
    public var amountCents: Int
    public var paymentMethod: String
    public var phase: Phase = .reserving
    /// Deadline retries used in the current step.
    public var attempt = 0
    public var reserved: Set<String> = []
    public var rejected: Set<String> = []
    public var released: Set<String> = []
    public var committed: Set<String> = []
    public var paymentAuthorized = false
    /// Its own refund answered (paid, or declined because nothing was left); others' refunds
    /// of the payment do not count.
    public var refunded = false
    public var orderCancelled = false
    /// Why the saga compensates.
    public var reason: String?
    /// Set while the saga is failed (waiting for an operator), to the step that gave up.
    public var failedStep: Phase?

    public init(orderID: String, correlationID: String, quantities: [String: Int], amountCents: Int, paymentMethod: String) {
        self.orderID = orderID
        self.correlationID = correlationID
        self.quantities = quantities
        self.amountCents = amountCents
        self.paymentMethod = paymentMethod
    }

    /// A SKU whose reservation can no longer be held: released, or refused in the first place.
    func isSettled(_ sku: String) -> Bool { released.contains(sku) || rejected.contains(sku) }
    var allSettled: Bool { quantities.keys.allSatisfy(isSettled) }
    var refundDone: Bool { !paymentAuthorized || refunded }

    var status: SagaStatus {
        if failedStep != nil { return .failed }
        switch phase {
        case .completed: return .completed
        case .compensated: return .compensated
        default: return .running
        }
    }
}

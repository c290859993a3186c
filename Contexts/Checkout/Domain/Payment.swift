public import EventSourcing

public enum PaymentCommand: Sendable, Equatable {
    case authorize(amountCents: Int, method: String)
    /// Gives back `amountCents` of the captured payment (nil: all that is not refunded yet, which
    /// is what the checkout saga's compensation asks) as refund `refundId`. The requester names
    /// the refund, so a repeat of it (a redelivered or resent command) is paid at most once.
    case refund(amountCents: Int?, refundId: String)
}

public struct PaymentAuthorized: Codable, Sendable, Equatable {
    public var orderId: String
    public var amountCents: Int
    public var authorizationId: String
}

public struct PaymentDeclined: Codable, Sendable, Equatable {
    public var orderId: String
    public var amountCents: Int
    public var reason: String
}

/// Schema version 2 added `refundId`; a version 1 event was the checkout saga's full refund and
/// reads as one (`Payment.refundedV1`).
public struct PaymentRefunded: Codable, Sendable, Equatable {
    public var orderId: String
    public var amountCents: Int
    public var refundId: String
}

/// A refund that cannot be paid (more than is left, or not a positive amount): the answer a
/// process manager waiting on `refundId` hears instead of silence.
public struct PaymentRefundDeclined: Codable, Sendable, Equatable {
    public var orderId: String
    public var refundId: String
    /// What was asked (for "all that is left", what was left: 0).
    public var amountCents: Int
    public var reason: String
}

public enum PaymentEvent: Sendable, Equatable {
    case authorized(PaymentAuthorized)
    case declined(PaymentDeclined)
    case refunded(PaymentRefunded)
    case refundDeclined(PaymentRefundDeclined)
}

/// Not snapshotted, and cached only in memory (`StreamStateCache`, typed by `State`): a change of
/// shape needs no migration. Were snapshots turned on, `Payment.stateSchema` says which shape.
public struct PaymentState: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case none, authorized, declined, partiallyRefunded, refunded }
    public var status: Status = .none
    /// What the gateway captured (it captures on authorization); 0 unless authorized.
    public var capturedCents = 0
    public var refundedCents = 0
    /// Every refund id paid, so a repeat is answered by nothing (a declined one may be asked
    /// again). One per refund of this order (the saga's, one per return): small.
    public var refundIDs: Set<String> = []

    public var refundableCents: Int { capturedCents - refundedCents }

    public init() {}
}

/// The simulated payment gateway: deterministic, driven by the payment method.
public enum SimulatedPaymentGateway {
    public enum Answer: Equatable, Sendable {
        case authorized(authorizationID: String)
        case declined(reason: String)
        /// The gateway never answers; the saga's deadline has to deal with it.
        case silent
    }

    public static func answer(orderID: String, method: String) -> Answer {
        switch method {
        case "card": .authorized(authorizationID: "auth-\(orderID)")
        case "card-silent": .silent
        case "card-declined": .declined(reason: "card declined by issuer")
        default: .declined(reason: "unsupported payment method \(method)")
        }
    }
}

/// One stream per order's payment: `payment-<orderId>`.
public enum Payment {
    public static let category = "payment"

    public static func stream(_ orderID: String) -> StreamName { StreamName(category: category, id: orderID) }

    /// The shape of `PaymentState` (2: captured and refunded cents, refund ids), for snapshots.
    public static let stateSchema = 2

    /// The checkout saga's own refund of an order (its compensation). Every refund before
    /// `PaymentRefunded` v2 was that one, so v1 events read with this id: fixed for good, since
    /// changing it would change what stored events say (read-model migration 3 of the order
    /// summary and `suite-check` spell it out in SQL too). Other contexts must not use the prefix.
    public static func checkoutRefundID(orderID: String) -> String { checkoutRefundIDPrefix + orderID }
    public static let checkoutRefundIDPrefix = "checkout-"

    public static func decider(orderID: String) -> Decider<PaymentCommand, PaymentState, PaymentEvent> {
        Decider(
            initialState: PaymentState(),
            decide: { command, state throws(DomainError) in try decide(command, state, orderID: orderID) },
            evolve: evolve)
    }

    static func decide(_ command: PaymentCommand, _ state: PaymentState, orderID: String) throws(DomainError) -> [PaymentEvent] {
        switch command {
        case .authorize(let amount, let method):
            guard state.status == .none else { return [] }
            guard amount > 0 else { throw DomainError("invalid_amount", "amount must be positive", field: "amountCents") }
            switch SimulatedPaymentGateway.answer(orderID: orderID, method: method) {
            case .authorized(let id): return [.authorized(PaymentAuthorized(orderId: orderID, amountCents: amount, authorizationId: id))]
            case .declined(let reason): return [.declined(PaymentDeclined(orderId: orderID, amountCents: amount, reason: reason))]
            case .silent: return []
            }
        case .refund(let amount, let refundID):
            return try decideRefund(amount, refundID: refundID, state, orderID: orderID)
        }
    }

    static func evolve(_ state: PaymentState, _ event: PaymentEvent) -> PaymentState {
        var state = state
        switch event {
        case .authorized(let event):
            state.status = .authorized
            state.capturedCents = event.amountCents
        case .declined:
            state.status = .declined
        case .refunded(let event):
            state.refundedCents += event.amountCents
            state.refundIDs.insert(event.refundId)
            state.status = state.refundedCents >= state.capturedCents ? .refunded : .partiallyRefunded
        case .refundDeclined:
            // A declined refund id stays open: its requester may ask again (an operator's retry
            // of a return), and is answered again; only a paid id is final.
            break
        }
        return state
    }

    public static let codec = EventCodec<PaymentEvent>(
        [
            .json(PaymentAuthorized.self, type: "PaymentAuthorized", extract: { if case .authorized(let e) = $0 { e } else { nil } }, wrap: { .authorized($0) }),
            .json(PaymentDeclined.self, type: "PaymentDeclined", extract: { if case .declined(let e) = $0 { e } else { nil } }, wrap: { .declined($0) }),
            .json(
                PaymentRefunded.self, type: "PaymentRefunded", version: 2, extract: { if case .refunded(let e) = $0 { e } else { nil } },
                wrap: { .refunded($0) }),
            .json(
                PaymentRefundDeclined.self, type: "PaymentRefundDeclined", extract: { if case .refundDeclined(let e) = $0 { e } else { nil } },
                wrap: { .refundDeclined($0) }),
        ],
        upcasters: [refundedV1])

    /// v1 had no refund id: only the checkout saga refunded then, always the whole payment.
    static let refundedV1 = Upcaster(type: "PaymentRefunded", fromVersion: 1) { document in
        guard case .string(let orderID) = document["orderId"] else { throw MalformedPayment(field: "orderId") }
        var upgraded = document
        if upgraded["refundId"] == nil { upgraded["refundId"] = .string(checkoutRefundID(orderID: orderID)) }
        return upgraded
    }
}

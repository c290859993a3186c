public import EventSourcing

public enum PaymentCommand: Sendable, Equatable {
    case authorize(amountCents: Int, method: String)
    case refund
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

public struct PaymentRefunded: Codable, Sendable, Equatable {
    public var orderId: String
    public var amountCents: Int
}

public enum PaymentEvent: Sendable, Equatable {
    case authorized(PaymentAuthorized)
    case declined(PaymentDeclined)
    case refunded(PaymentRefunded)
}

public struct PaymentState: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case none, authorized, declined, refunded }
    public var status: Status = .none
    public var amountCents = 0

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
        case .refund:
            switch state.status {
            case .authorized: return [.refunded(PaymentRefunded(orderId: orderID, amountCents: state.amountCents))]
            case .refunded: return []
            case .none, .declined: throw DomainError("nothing_to_refund", "payment of order \(orderID) was not authorized")
            }
        }
    }

    static func evolve(_ state: PaymentState, _ event: PaymentEvent) -> PaymentState {
        var state = state
        switch event {
        case .authorized(let event):
            state.status = .authorized
            state.amountCents = event.amountCents
        case .declined(let event):
            state.status = .declined
            state.amountCents = event.amountCents
        case .refunded:
            state.status = .refunded
        }
        return state
    }

    public static let codec = EventCodec<PaymentEvent>([
        .json(PaymentAuthorized.self, type: "PaymentAuthorized", extract: { if case .authorized(let e) = $0 { e } else { nil } }, wrap: { .authorized($0) }),
        .json(PaymentDeclined.self, type: "PaymentDeclined", extract: { if case .declined(let e) = $0 { e } else { nil } }, wrap: { .declined($0) }),
        .json(PaymentRefunded.self, type: "PaymentRefunded", extract: { if case .refunded(let e) = $0 { e } else { nil } }, wrap: { .refunded($0) }),
    ])
}

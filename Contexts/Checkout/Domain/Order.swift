import Foundation
public import EventSourcing

public struct OrderLine: Codable, Sendable, Hashable {
    public var sku: String
    public var quantity: Int
    public var unitPriceCents: Int

    public init(sku: String, quantity: Int, unitPriceCents: Int) {
        self.sku = sku
        self.quantity = quantity
        self.unitPriceCents = unitPriceCents
    }
}

public enum OrderCommand: Sendable, Equatable {
    /// `customer` is the customer's details, already sealed with their key (the decider never
    /// sees personal data in clear).
    case place(customerID: String, lines: [OrderLine], paymentMethod: String, customer: SealedData? = nil)
    case confirm
    case cancel(reason: String)
}

public struct OrderPlaced: Codable, Sendable, Equatable {
    public var orderId: String
    public var customerId: String
    public var lines: [OrderLine]
    public var totalCents: Int
    /// Added in schema version 2; version 1 orders were all paid by card (see the upcaster).
    public var paymentMethod: String
    /// Added in schema version 3: the customer's `CustomerDetails`, sealed with their key;
    /// absent when the order came without them.
    public var customer: SealedData?
}

public struct OrderConfirmed: Codable, Sendable, Equatable {
    public var orderId: String
}

public struct OrderCancelled: Codable, Sendable, Equatable {
    public var orderId: String
    public var reason: String
}

public enum OrderEvent: Sendable, Equatable {
    case placed(OrderPlaced)
    case confirmed(OrderConfirmed)
    case cancelled(OrderCancelled)
}

public struct OrderState: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case none, pending, confirmed, cancelled }

    public var status: Status = .none
    public var orderId: String?
    public var customerId: String?
    public var lines: [OrderLine] = []
    public var totalCents = 0
    public var paymentMethod: String?
    public var cancellationReason: String?

    public init() {}
}

/// One stream per order: `order-<orderId>`.
public enum Order {
    public static let category = "order"
    public static let supportedPaymentMethods: Set<String> = ["card", "card-declined", "card-silent"]

    public static func stream(_ orderID: String) -> StreamName { StreamName(category: category, id: orderID) }

    public static func decider(orderID: String) -> Decider<OrderCommand, OrderState, OrderEvent> {
        Decider(
            initialState: OrderState(),
            decide: { command, state throws(DomainError) in try decide(command, state, orderID: orderID) },
            evolve: evolve)
    }

    static func decide(_ command: OrderCommand, _ state: OrderState, orderID: String) throws(DomainError) -> [OrderEvent] {
        switch command {
        case .place(let customerID, let lines, let paymentMethod, let customer):
            guard state.status == .none else { throw DomainError("order_exists", "order \(orderID) was already placed") }
            guard !customerID.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw DomainError("invalid_customer", "a customer id is required", field: "customerId")
            }
            try InputLimits.checkID(customerID, field: "customerId", what: "customer")
            guard !lines.isEmpty else { throw DomainError("no_lines", "an order needs at least one line", field: "lines") }
            guard lines.count <= InputLimits.maxLines else {
                throw DomainError("too_many_lines", "an order has at most \(InputLimits.maxLines) lines", field: "lines")
            }
            var total = 0
            for (index, line) in lines.enumerated() {
                guard !line.sku.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw DomainError("invalid_sku", "a SKU is required", field: "lines[\(index)].sku")
                }
                try InputLimits.checkID(line.sku, field: "lines[\(index)].sku", what: "sku")
                try InputLimits.checkQuantity(line.quantity, field: "lines[\(index)].quantity")
                guard line.unitPriceCents > 0 else {
                    throw DomainError("invalid_price", "unit price must be positive", field: "lines[\(index)].unitPriceCents")
                }
                guard line.unitPriceCents <= InputLimits.maxUnitPriceCents else {
                    throw DomainError(
                        "invalid_price", "unit price must be at most \(InputLimits.maxUnitPriceCents) cents",
                        field: "lines[\(index)].unitPriceCents")
                }
                let (lineTotal, overflowA) = line.quantity.multipliedReportingOverflow(by: line.unitPriceCents)
                let (sum, overflowB) = total.addingReportingOverflow(lineTotal)
                guard !overflowA, !overflowB else {
                    throw DomainError("total_too_large", "the order total is too large", field: "lines[\(index)]")
                }
                total = sum
            }
            guard supportedPaymentMethods.contains(paymentMethod) else {
                throw DomainError(
                    "unsupported_payment_method",
                    "payment method must be one of \(supportedPaymentMethods.sorted().joined(separator: ", "))",
                    field: "paymentMethod")
            }
            return [
                .placed(
                    OrderPlaced(
                        orderId: orderID, customerId: customerID, lines: lines, totalCents: total, paymentMethod: paymentMethod, customer: customer))
            ]
        case .confirm:
            switch state.status {
            case .none: throw DomainError("unknown_order", "order \(orderID) does not exist")
            case .cancelled: throw DomainError("order_cancelled", "order \(orderID) was cancelled and cannot be confirmed")
            case .confirmed: return []
            case .pending: return [.confirmed(OrderConfirmed(orderId: orderID))]
            }
        case .cancel(let reason):
            switch state.status {
            case .none: throw DomainError("unknown_order", "order \(orderID) does not exist")
            case .confirmed: throw DomainError("order_confirmed", "order \(orderID) is confirmed and cannot be cancelled")
            case .cancelled: return []
            case .pending:
                try InputLimits.checkReason(reason, field: "reason")
                let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
                return [.cancelled(OrderCancelled(orderId: orderID, reason: trimmed.isEmpty ? "cancelled" : trimmed))]
            }
        }
    }

    static func evolve(_ state: OrderState, _ event: OrderEvent) -> OrderState {
        var state = state
        switch event {
        case .placed(let placed):
            state.status = .pending
            state.orderId = placed.orderId
            state.customerId = placed.customerId
            state.lines = placed.lines
            state.totalCents = placed.totalCents
            state.paymentMethod = placed.paymentMethod
        case .confirmed:
            state.status = .confirmed
        case .cancelled(let cancelled):
            state.status = .cancelled
            state.cancellationReason = cancelled.reason
        }
        return state
    }

    public static let codec = EventCodec<OrderEvent>(
        [
            .json(OrderPlaced.self, type: "OrderPlaced", version: 3, extract: { if case .placed(let e) = $0 { e } else { nil } }, wrap: { .placed($0) }),
            .json(OrderConfirmed.self, type: "OrderConfirmed", extract: { if case .confirmed(let e) = $0 { e } else { nil } }, wrap: { .confirmed($0) }),
            .json(OrderCancelled.self, type: "OrderCancelled", extract: { if case .cancelled(let e) = $0 { e } else { nil } }, wrap: { .cancelled($0) }),
        ],
        upcasters: [
            // v1 had no payment method: every order then was paid by card.
            Upcaster(type: "OrderPlaced", fromVersion: 1) { document in
                var upgraded = document
                if upgraded["paymentMethod"] == nil { upgraded["paymentMethod"] = .string("card") }
                return upgraded
            },
            // v3 added the optional sealed customer details: a v2 order came without them.
            Upcaster(type: "OrderPlaced", fromVersion: 2) { document in document },
        ])
}

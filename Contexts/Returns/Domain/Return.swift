public import EventSourcing
public import Foundation

/// What a customer sends back: a SKU of the order and how many.
public struct ReturnLine: Codable, Sendable, Hashable {
    public var sku: String
    public var quantity: Int
    /// The price paid per unit (from the order), so the refund is the sum of the lines.
    public var unitPriceCents: Int

    public init(sku: String, quantity: Int, unitPriceCents: Int = 0) {
        self.sku = sku
        self.quantity = quantity
        self.unitPriceCents = unitPriceCents
    }
}

/// What was bought, as returns' own read model of the order events knows it.
public struct Purchase: Sendable, Equatable {
    /// Quantity and unit price per SKU.
    public var lines: [String: (quantity: Int, unitPriceCents: Int)]
    /// When the checkout completed (the order was confirmed); nil while it has not.
    public var completedAt: Date?

    public init(lines: [String: (quantity: Int, unitPriceCents: Int)], completedAt: Date?) {
        self.lines = lines
        self.completedAt = completedAt
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.completedAt == rhs.completedAt && lhs.lines.mapValues { [$0.quantity, $0.unitPriceCents] } == rhs.lines.mapValues { [$0.quantity, $0.unitPriceCents] }
    }
}

public enum ReturnCommand: Sendable, Equatable {
    /// `returnID` is `<orderId>.r<token>` (`Return.newID`), chosen by the caller, so a decision
    /// made again after a conflict is the same return.
    case request(returnID: String, lines: [ReturnLine], reason: String, purchase: Purchase?, now: Date, window: TimeInterval)
    /// The warehouse got the goods.
    case receive(returnID: String)
    case complete(returnID: String, refundedCents: Int)
    case failRefund(returnID: String, reason: String)
}

public struct ReturnRequested: Codable, Sendable, Equatable {
    public var returnId: String
    public var orderId: String
    public var lines: [ReturnLine]
    public var amountCents: Int
    public var reason: String
}

public struct ReturnReceived: Codable, Sendable, Equatable {
    public var returnId: String
    public var orderId: String
    public var lines: [ReturnLine]
    public var amountCents: Int
}

public struct ReturnCompleted: Codable, Sendable, Equatable {
    public var returnId: String
    public var orderId: String
    public var refundedCents: Int
}

public struct ReturnRefundFailed: Codable, Sendable, Equatable {
    public var returnId: String
    public var orderId: String
    public var reason: String
}

public enum ReturnEvent: Sendable, Equatable {
    case requested(ReturnRequested)
    case received(ReturnReceived)
    case completed(ReturnCompleted)
    case refundFailed(ReturnRefundFailed)
}

/// Every return of one order: what each asked for and how far it got, and what is returned per
/// SKU (so a later return cannot take back more than was bought).
public struct OrderReturnsState: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case requested, received, completed, refundFailed = "refund_failed" }

    public struct Entry: Codable, Sendable, Equatable {
        public var lines: [ReturnLine]
        public var amountCents: Int
        public var status: Status
    }

    public var returns: [String: Entry] = [:]
    public var returned: [String: Int] = [:]

    public init() {}
}

/// One stream per order's returns, `return-<orderId>`; a return's id is `<orderId>.r<token>`.
public enum Return {
    public static let category = "return"

    public static func stream(orderID: String) -> StreamName { StreamName(category: category, id: orderID) }

    /// A new return id for an order: the order id and eight hex digits.
    public static func newID(orderID: String) -> String { "\(orderID).r\(UUID().uuidString.prefix(8).lowercased())" }

    /// The order a return id belongs to (`<orderId>.r<token>`), or nil when it is not one.
    public static func orderID(ofReturn returnID: String) -> String? {
        guard let marker = returnID.range(of: ".r", options: .backwards), marker.lowerBound != returnID.startIndex,
            returnID[marker.upperBound...].count == 8, returnID[marker.upperBound...].allSatisfy(\.isHexDigit)
        else { return nil }
        return String(returnID[..<marker.lowerBound])
    }

    public static func decider(orderID: String) -> Decider<ReturnCommand, OrderReturnsState, ReturnEvent> {
        Decider(
            initialState: OrderReturnsState(),
            decide: { command, state throws(DomainError) in try decide(command, state, orderID: orderID) },
            evolve: evolve)
    }

    static func decide(_ command: ReturnCommand, _ state: OrderReturnsState, orderID: String) throws(DomainError) -> [ReturnEvent] {
        switch command {
        case .request(let id, let lines, let reason, let purchase, let now, let window):
            if state.returns[id] != nil { return [] }
            guard let purchase else { throw DomainError("unknown_order", "no order \(orderID) is known to returns") }
            guard let completedAt = purchase.completedAt else {
                throw DomainError("order_not_completed", "order \(orderID) has no completed checkout to return from", field: "orderId")
            }
            guard now.timeIntervalSince(completedAt) <= window else {
                throw DomainError("return_window_closed", "the return window of \(Int(window / 86_400)) days closed", field: "orderId")
            }
            guard !lines.isEmpty, lines.count <= 100 else { throw DomainError("invalid_lines", "give 1 to 100 lines", field: "lines") }
            guard Set(lines.map(\.sku)).count == lines.count else { throw DomainError("invalid_lines", "each SKU once", field: "lines") }
            if let problem = TextRules.problem(in: reason, maxCharacters: 500, maxBytes: 2_000) {
                throw DomainError("invalid_reason", "reason \(problem)", field: "reason")
            }
            var priced: [ReturnLine] = []
            for (index, line) in lines.enumerated() {
                guard let bought = purchase.lines[line.sku] else {
                    throw DomainError("not_bought", "\(line.sku) is not a line of order \(orderID)", field: "lines[\(index)].sku")
                }
                guard line.quantity > 0 else { throw DomainError("invalid_quantity", "quantity must be positive", field: "lines[\(index)].quantity") }
                let left = bought.quantity - state.returned[line.sku, default: 0]
                guard line.quantity <= left else {
                    throw DomainError(
                        "quantity_exceeds_returnable", "\(line.sku): \(left) of \(bought.quantity) can still be returned, asked \(line.quantity)",
                        field: "lines[\(index)].quantity")
                }
                priced.append(ReturnLine(sku: line.sku, quantity: line.quantity, unitPriceCents: bought.unitPriceCents))
            }
            let amount = priced.reduce(0) { $0 + $1.quantity * $1.unitPriceCents }
            return [.requested(ReturnRequested(returnId: id, orderId: orderID, lines: priced, amountCents: amount, reason: reason))]
        case .receive(let id):
            guard let entry = state.returns[id] else { throw DomainError("unknown_return", "no return \(id)") }
            guard entry.status == .requested else { return [] }
            return [.received(ReturnReceived(returnId: id, orderId: orderID, lines: entry.lines, amountCents: entry.amountCents))]
        case .complete(let id, let refunded):
            guard let entry = state.returns[id], entry.status == .received || entry.status == .refundFailed else { return [] }
            return [.completed(ReturnCompleted(returnId: id, orderId: orderID, refundedCents: refunded))]
        case .failRefund(let id, let reason):
            guard state.returns[id]?.status == .received else { return [] }
            return [.refundFailed(ReturnRefundFailed(returnId: id, orderId: orderID, reason: reason))]
        }
    }

    static func evolve(_ state: OrderReturnsState, _ event: ReturnEvent) -> OrderReturnsState {
        var state = state
        switch event {
        case .requested(let e):
            state.returns[e.returnId] = .init(lines: e.lines, amountCents: e.amountCents, status: .requested)
            for line in e.lines { state.returned[line.sku, default: 0] += line.quantity }
        case .received(let e): state.returns[e.returnId]?.status = .received
        case .completed(let e): state.returns[e.returnId]?.status = .completed
        case .refundFailed(let e): state.returns[e.returnId]?.status = .refundFailed
        }
        return state
    }

    public static let codec = EventCodec<ReturnEvent>([
        .json(ReturnRequested.self, type: "ReturnRequested", extract: { if case .requested(let e) = $0 { e } else { nil } }, wrap: { .requested($0) }),
        .json(ReturnReceived.self, type: "ReturnReceived", extract: { if case .received(let e) = $0 { e } else { nil } }, wrap: { .received($0) }),
        .json(ReturnCompleted.self, type: "ReturnCompleted", extract: { if case .completed(let e) = $0 { e } else { nil } }, wrap: { .completed($0) }),
        .json(
            ReturnRefundFailed.self, type: "ReturnRefundFailed", extract: { if case .refundFailed(let e) = $0 { e } else { nil } },
            wrap: { .refundFailed($0) }),
    ])
}

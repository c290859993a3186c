public import EventSourcing

public enum StockCommand: Sendable, Equatable {
    case restock(quantity: Int)
    case reserve(orderID: String, quantity: Int)
    case release(orderID: String)
    case commit(orderID: String)
}

public struct StockRestocked: Codable, Sendable, Equatable {
    public var sku: String
    public var quantity: Int
}

public struct StockReserved: Codable, Sendable, Equatable {
    public var sku: String
    public var orderId: String
    public var quantity: Int
}

public struct StockReservationRejected: Codable, Sendable, Equatable {
    public var sku: String
    public var orderId: String
    public var quantity: Int
    public var available: Int
    public var reason: String
}

public struct StockReleased: Codable, Sendable, Equatable {
    public var sku: String
    public var orderId: String
    public var quantity: Int
}

public struct StockCommitted: Codable, Sendable, Equatable {
    public var sku: String
    public var orderId: String
    public var quantity: Int
}

public enum StockEvent: Sendable, Equatable {
    case restocked(StockRestocked)
    case reserved(StockReserved)
    case reservationRejected(StockReservationRejected)
    case released(StockReleased)
    case committed(StockCommitted)
}

public struct StockState: Codable, Sendable, Equatable {
    public var onHand = 0
    /// Active reservations by order.
    public var reservations: [String: Int] = [:]
    /// Orders whose reservation was released, committed or rejected, most recent ones only:
    /// never reserved again, so a late or repeated command cannot reserve or release twice.
    public var settledOrders = RecentOrders()

    public init() {}

    public var reserved: Int { reservations.values.reduce(0, +) }
    public var available: Int { onHand - reserved }
}

/// One stream per SKU: `stock-<sku>`. Stock never goes below zero; a reservation is released
/// at most once.
public enum Stock {
    public static let category = "stock"

    /// The shape of `StockState` in snapshots. 2: `settledOrders` is a `RecentOrders`, oldest
    /// first. Schema 1 snapshots held an unbounded set in no order, which would decode to an
    /// arbitrary 1,000 of its orders, so they are ignored and the stream is read instead.
    public static let stateSchema = 2
    /// Stock streams are long (every reservation of a SKU): a snapshot every 100 events.
    public static let snapshotEvery: Int64 = 100

    public static func stream(_ sku: String) -> StreamName { StreamName(category: category, id: sku) }

    public static func decider(sku: String) -> Decider<StockCommand, StockState, StockEvent> {
        Decider(
            initialState: StockState(),
            decide: { command, state throws(DomainError) in try decide(command, state, sku: sku) },
            evolve: evolve)
    }

    static func decide(_ command: StockCommand, _ state: StockState, sku: String) throws(DomainError) -> [StockEvent] {
        switch command {
        case .restock(let quantity):
            try InputLimits.checkID(sku, field: "sku", what: "sku")
            try InputLimits.checkQuantity(quantity, field: "quantity")
            guard state.onHand <= Int.max - quantity else { throw DomainError("invalid_quantity", "quantity is too large", field: "quantity") }
            return [.restocked(StockRestocked(sku: sku, quantity: quantity))]
        case .reserve(let orderID, let quantity):
            guard quantity > 0 else { throw DomainError("invalid_quantity", "quantity must be positive", field: "quantity") }
            if state.reservations[orderID] != nil || state.settledOrders.contains(orderID) { return [] }
            guard state.available >= quantity else {
                return [
                    .reservationRejected(
                        StockReservationRejected(
                            sku: sku, orderId: orderID, quantity: quantity, available: state.available, reason: "out of stock"))
                ]
            }
            return [.reserved(StockReserved(sku: sku, orderId: orderID, quantity: quantity))]
        case .release(let orderID):
            if let quantity = state.reservations[orderID] {
                return [.released(StockReleased(sku: sku, orderId: orderID, quantity: quantity))]
            }
            if state.settledOrders.contains(orderID) { return [] }
            // Released before any reservation arrived (compensation raced ahead): record the
            // order as settled, so a reservation that arrives later is refused, never leaked.
            return [.released(StockReleased(sku: sku, orderId: orderID, quantity: 0))]
        case .commit(let orderID):
            guard let quantity = state.reservations[orderID] else {
                if state.settledOrders.contains(orderID) { return [] }
                throw DomainError("no_reservation", "order \(orderID) holds no reservation of \(sku)")
            }
            return [.committed(StockCommitted(sku: sku, orderId: orderID, quantity: quantity))]
        }
    }

    static func evolve(_ state: StockState, _ event: StockEvent) -> StockState {
        var state = state
        switch event {
        case .restocked(let event):
            state.onHand += event.quantity
        case .reserved(let event):
            state.reservations[event.orderId] = event.quantity
        case .reservationRejected(let event):
            state.settledOrders.insert(event.orderId)
        case .released(let event):
            state.reservations[event.orderId] = nil
            state.settledOrders.insert(event.orderId)
        case .committed(let event):
            state.reservations[event.orderId] = nil
            state.onHand -= event.quantity
            state.settledOrders.insert(event.orderId)
        }
        return state
    }

    public static let codec = EventCodec<StockEvent>([
        .json(StockRestocked.self, type: "StockRestocked", extract: { if case .restocked(let e) = $0 { e } else { nil } }, wrap: { .restocked($0) }),
        .json(StockReserved.self, type: "StockReserved", extract: { if case .reserved(let e) = $0 { e } else { nil } }, wrap: { .reserved($0) }),
        .json(
            StockReservationRejected.self, type: "StockReservationRejected",
            extract: { if case .reservationRejected(let e) = $0 { e } else { nil } }, wrap: { .reservationRejected($0) }),
        .json(StockReleased.self, type: "StockReleased", extract: { if case .released(let e) = $0 { e } else { nil } }, wrap: { .released($0) }),
        .json(StockCommitted.self, type: "StockCommitted", extract: { if case .committed(let e) = $0 { e } else { nil } }, wrap: { .committed($0) }),
    ])
}

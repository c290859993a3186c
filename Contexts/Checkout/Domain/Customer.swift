public import EventSourcing

public enum CustomerCommand: Sendable, Equatable {
    /// Record that the customer's personal data was erased: `keysDeleted` keys were deleted
    /// just before (0 when they had none left; recorded all the same).
    case recordForgotten(keysDeleted: Int)
}

/// The customer's personal data keys were deleted: every sealed copy of their details now reads
/// as erased, and read models drop what they showed of it when they apply this.
public struct CustomerForgotten: Codable, Sendable, Equatable {
    public var customerId: String
    public var keysDeleted: Int
}

public enum CustomerEvent: Sendable, Equatable {
    case forgotten(CustomerForgotten)
}

public struct CustomerState: Codable, Sendable, Equatable {
    public var forgottenTimes = 0

    public init() {}
}

/// One stream per customer, `customer-<customerId>`, for what happens to the customer as a
/// person rather than to one order: today, only being forgotten (an audit trail without the
/// data it is about).
public enum Customer {
    public static let category = "customer"

    public static func stream(_ customerID: String) -> StreamName { StreamName(category: category, id: customerID) }

    public static func decider(customerID: String) -> Decider<CustomerCommand, CustomerState, CustomerEvent> {
        Decider(
            initialState: CustomerState(),
            decide: { command, state throws(DomainError) in try decide(command, state, customerID: customerID) },
            evolve: evolve)
    }

    static func decide(_ command: CustomerCommand, _ state: CustomerState, customerID: String) throws(DomainError) -> [CustomerEvent] {
        try InputLimits.checkID(customerID, field: "customerId", what: "customer")
        switch command {
        case .recordForgotten(let keysDeleted):
            // Recorded every time, keys or not: a repeat after a crash between deleting the keys
            // and recording must still make the read models drop what they show (their purge
            // is idempotent), and each request is on the record.
            return [.forgotten(CustomerForgotten(customerId: customerID, keysDeleted: keysDeleted))]
        }
    }

    static func evolve(_ state: CustomerState, _ event: CustomerEvent) -> CustomerState {
        var state = state
        switch event {
        case .forgotten: state.forgottenTimes += 1
        }
        return state
    }

    public static let codec = EventCodec<CustomerEvent>([
        .json(CustomerForgotten.self, type: "CustomerForgotten", extract: { if case .forgotten(let e) = $0 { e } else { nil } }, wrap: { .forgotten($0) })
    ])
}

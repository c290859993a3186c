import Foundation
public import EventSourcing

/// A customer's personal data as an order may carry it. It reaches the event store and Kafka
/// only sealed with the customer's key (`OrderPlaced.customer`), so forgetting the customer
/// (deleting the key) erases it everywhere. Never logged, never put in an error message.
public struct CustomerDetails: Codable, Sendable, Equatable {
    public var name: String
    public var email: String
    public var address: String

    public init(name: String, email: String, address: String) {
        self.name = name
        self.email = email
        self.address = address
    }

    public static let maxNameLength = 200
    public static let maxEmailLength = 254
    public static let maxAddressLength = 500

    /// The rules, each naming the field under `customer` (the value itself is never echoed).
    public func validate() throws(DomainError) {
        try Self.check(name, field: "customer.name", what: "name", max: Self.maxNameLength)
        try Self.check(address, field: "customer.address", what: "address", max: Self.maxAddressLength, lineBreaks: true)
        try Self.check(email, field: "customer.email", what: "email", max: Self.maxEmailLength)
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            !email.contains(where: \.isWhitespace)
        else {
            throw DomainError("invalid_customer_details", "email must look like name@example.com", field: "customer.email")
        }
    }

    private static func check(_ value: String, field: String, what: String, max: Int, lineBreaks: Bool = false) throws(DomainError) {
        guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw DomainError("invalid_customer_details", "\(what) is required", field: field)
        }
        if let problem = TextRules.problem(in: value, maxCharacters: max, maxBytes: max * 4, lineBreaks: lineBreaks) {
            throw DomainError("invalid_customer_details", "\(what) \(problem)", field: field)
        }
    }
}

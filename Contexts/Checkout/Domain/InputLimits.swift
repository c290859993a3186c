public import EventSourcing

/// The documented bounds of what a client may send (README, "Input limits"). Ids end up in
/// stream ids, command ids, Kafka keys, URL paths and btree indexes; quantities and prices in
/// sums that must not overflow. Checked by the deciders, so the HTTP API and the saga's
/// commands are held to the same rules.
public enum InputLimits {
    /// Customer ids and SKUs: 1 to 64 of A-Z a-z 0-9 . _ -
    public static let maxIDLength = IdentifierRule.maxLength
    /// Refund ids: the same characters, long enough for a prefix and an order id
    /// (`Payment.checkoutRefundID`).
    public static let maxRefundIDLength = 128
    public static let maxLines = 100
    public static let maxQuantity = 1_000_000
    public static let maxUnitPriceCents = 100_000_000
    public static let maxReasonLength = 500
    /// A reason's bound in UTF-8 bytes (four per character of `maxReasonLength`).
    public static let maxReasonBytes = 2_000

    public static func isValidID(_ text: String, maxLength: Int = maxIDLength) -> Bool {
        IdentifierRule.isValid(text, maxLength: maxLength)
    }

    /// A `DomainError` for an id that breaks the rule, naming the field.
    public static func checkID(_ text: String, field: String, what: String) throws(DomainError) {
        guard isValidID(text) else {
            throw DomainError(
                "invalid_\(what)", "\(what) must be 1 to \(maxIDLength) characters of A-Z a-z 0-9 . _ -", field: field)
        }
    }

    public static func checkRefundID(_ text: String, field: String) throws(DomainError) {
        guard isValidID(text, maxLength: maxRefundIDLength) else {
            throw DomainError("invalid_refund_id", "refund id must be 1 to \(maxRefundIDLength) characters of A-Z a-z 0-9 . _ -", field: field)
        }
    }

    public static func checkQuantity(_ quantity: Int, field: String) throws(DomainError) {
        guard quantity > 0 else { throw DomainError("invalid_quantity", "quantity must be positive", field: field) }
        guard quantity <= maxQuantity else {
            throw DomainError("invalid_quantity", "quantity must be at most \(maxQuantity)", field: field)
        }
    }

    public static func checkReason(_ reason: String, field: String) throws(DomainError) {
        if let problem = TextRules.problem(in: reason, maxCharacters: maxReasonLength, maxBytes: maxReasonBytes) {
            throw DomainError("invalid_reason", "reason \(problem)", field: field)
        }
    }
}

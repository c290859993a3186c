public import Foundation

/// A parked event: it failed for a projection after every retry (or sits behind one that did).
public struct DeadLetter: Sendable, Codable {
    public var id: Int64
    public var processor: String
    public var projection: String
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var streamId: String
    public var streamVersion: Int64
    public var eventId: UUID
    public var eventType: String
    public var error: String
    public var fingerprint: String
    public var attempts: Int
    /// The dead letter this one waits behind (same stream, earlier version), if any.
    public var blockedBy: Int64?
    public var status: String
    public var firstFailedAt: Date
    public var lastFailedAt: Date
    public var resolvedAt: Date?
    public var resolvedBy: String?
    public var resolution: String?
}

/// Groups failures whose errors differ only in ids and numbers, so an operator can act on a
/// whole group: digits and hex runs become `#`, quoted text becomes `'…'`.
public enum FailureFingerprint {
    public static func of(errorType: String, message: String) -> String {
        var shape = ""
        var inQuote = false
        var lastWasPlaceholder = false
        for character in message {
            if character == "'" || character == "\"" {
                if !inQuote { shape += "'…'" }
                inQuote.toggle()
                continue
            }
            if inQuote { continue }
            if character.isNumber || (character.isHexDigit && lastWasPlaceholder) {
                if !lastWasPlaceholder { shape += "#" }
                lastWasPlaceholder = true
                continue
            }
            lastWasPlaceholder = false
            shape.append(character)
        }
        return "\(errorType): \(shape.prefix(200))"
    }
}

/// A stream's id, `<category>-<id>` (e.g. `booking-7f3c...`, `seat-A12`). The category is the
/// stream type: it picks the Kafka topic, the snapshot kind and the decider.
public struct StreamName: Sendable, Hashable, Codable, CustomStringConvertible {
    public let category: String
    public let id: String

    public init(category: String, id: String) {
        self.category = category
        self.id = id
    }

    /// Parses `<category>-<id>`; the category is everything before the first `-`.
    public init?(_ text: String) {
        guard let dash = text.firstIndex(of: "-"), dash != text.startIndex, text.index(after: dash) != text.endIndex else {
            return nil
        }
        category = String(text[..<dash])
        id = String(text[text.index(after: dash)...])
    }

    public var description: String { "\(category)-\(id)" }
}

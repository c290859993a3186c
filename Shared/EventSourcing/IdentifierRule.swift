/// The one rule for ids a client sends (path parameters, ids in bodies): 1 to 64 of
/// A-Z a-z 0-9 . _ -. Ids end up in stream ids, command ids, Kafka keys, URL paths and btree
/// indexes, so anything else (a NUL, a slash, a megabyte) is refused at the edge.
public enum IdentifierRule {
    public static let maxLength = 64

    /// `maxLength`: in bytes, for ids made of other ids (a prefix and an id).
    public static func isValid(_ text: String, maxLength: Int = maxLength) -> Bool {
        !text.isEmpty && text.utf8.count <= maxLength
            && text.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2D || byte == 0x2E || byte == 0x5F
            }
    }

    /// The rule in words, for error messages.
    public static let description = "1 to \(maxLength) characters of A-Z a-z 0-9 . _ -"
}

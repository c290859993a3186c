/// The one rule for free text a client or operator sends (a cancel reason, personal details, a
/// skip reason): bounded in characters, as people count, AND in UTF-8 bytes, which is what
/// columns, indexes, Kafka and logs pay for (one character — a grapheme cluster — may carry any
/// number of combining marks: "500 characters" alone let a 500 KB reason through); and free of
/// control characters (a NUL makes PostgreSQL refuse text and jsonb, failing every write
/// batched with it).
public enum TextRules {
    /// Why `text` breaks the rule, or nil. `lineBreaks` lets LF and CR LF through (an address).
    public static func problem(in text: String, maxCharacters: Int, maxBytes: Int, lineBreaks: Bool = false) -> String? {
        if text.utf8.count > maxBytes { return "must be at most \(maxBytes) bytes in UTF-8" }
        if text.count > maxCharacters { return "must be at most \(maxCharacters) characters" }
        let scalars = Array(text.unicodeScalars)
        for (index, scalar) in scalars.enumerated() where isControl(scalar) {
            let lineFeed = scalar == "\n"
            let crLF = scalar == "\r" && index + 1 < scalars.count && scalars[index + 1] == "\n"
            if lineBreaks && (lineFeed || crLF) { continue }
            return "must not contain control characters\(lineBreaks ? " other than line breaks" : "")"
        }
        return nil
    }

    /// C0 and C1 controls and DEL.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}

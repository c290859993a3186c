import Foundation

/// Text from a record as it can be logged, put in a header or written to a text column: a NUL
/// (which PostgreSQL refuses in text) spelled out, and long values cut, saying how long they were.
/// Used wherever the saga reports an input it could not handle, so the report cannot fail on the
/// very bytes that made the input fail.
enum PrintableText {
    static func of(_ text: String, limit: Int = 200) -> String {
        let spelled = text.replacingOccurrences(of: "\u{0}", with: "\\u0000")
        guard spelled.utf8.count > limit else { return spelled }
        return "\(spelled.prefix(limit))… (\(text.utf8.count) bytes)"
    }
}

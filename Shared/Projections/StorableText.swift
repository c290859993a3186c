import EventStore
import Foundation

/// Text from a record as PostgreSQL can store it. PostgreSQL refuses a NUL byte in any text
/// (SQLSTATE 22021) and an index entry over about 2.7 kB (54000), so a record's stream id with
/// either can key no position row, and a dead letter that copied such bytes as they are would
/// fail the very park meant to set the record aside (and the batch would be retried forever).
enum StorableText {
    /// Why `stream` cannot key the runtime's rows (a position, a dead letter), or nil when it
    /// can: it must be what the event store could have written (1 to 200 bytes, no NUL).
    static func streamIDProblem(_ stream: String) -> String? {
        if stream.utf8.contains(0) { return "contains a NUL byte" }
        let bytes = stream.utf8.count
        guard (1...PostgresEventStore.Limits.maxStreamIDBytes).contains(bytes) else {
            return "is \(bytes) bytes; the event store's stream ids are 1 to \(PostgresEventStore.Limits.maxStreamIDBytes)"
        }
        return nil
    }

    /// `text` with each NUL written as `\0`, cut to at most `limit` bytes (at a character
    /// boundary) with the full length noted: for identifying a record, never for replaying it.
    static func escaped(_ text: String, limit: Int) -> String {
        let clean = text.utf8.contains(0) ? text.replacingOccurrences(of: "\0", with: "\\0") : text
        guard clean.utf8.count > limit else { return clean }
        let note = "…(\(text.utf8.count) bytes)"
        var cut = ""
        for character in clean {
            guard cut.utf8.count + character.utf8.count + note.utf8.count <= limit else { break }
            cut.append(character)
        }
        return cut + note
    }
}

/// The rules a text header of an event record (and its key) must meet before any statement or
/// log line sees it. A record on an event topic can be written by anyone: a NUL byte or invalid
/// UTF-8 makes PostgreSQL refuse the statement (SQLSTATE 22021), an over-long id makes an index
/// refuse it (54000), and either, taken for an outage, would hold the partition for good.
public enum EnvelopeText {
    /// What a header value is allowed to be; the reason when it is not.
    public static func check(_ bytes: [UInt8], maxBytes: Int) -> String? {
        guard bytes.count <= maxBytes else { return "longer than \(maxBytes) bytes (\(bytes.count)): \(quoted(bytes))" }
        guard let text = String(validating: bytes, as: UTF8.self) else { return "not valid UTF-8: \(quoted(bytes))" }
        if text.unicodeScalars.contains(where: isControl) { return "contains a control character: \(quoted(bytes))" }
        return nil
    }

    /// C0 and C1 controls and DEL: never part of an id, a type or a trace id.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// A hostile value as it may appear in an error: at most 80 characters, every control
    /// character and invalid byte escaped, so that the error itself can be stored and logged.
    static func quoted(_ bytes: [UInt8]) -> String {
        var out = ""
        var shown = 0
        var cut = bytes.count > 240
        for scalar in String(decoding: bytes.prefix(240), as: UTF8.self).unicodeScalars {
            guard shown < 80 else {
                cut = true
                break
            }
            if isControl(scalar) || scalar == "\u{FFFD}" {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
            shown += 1
        }
        return cut ? out + "…" : out
    }
}

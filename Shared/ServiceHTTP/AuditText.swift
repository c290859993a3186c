/// Text as PostgreSQL's text columns can store it, whatever bytes a caller sent: a NUL byte
/// (which no text value may hold) becomes `\u0000`, a byte that is not valid UTF-8 becomes
/// `\xNN`, and a backslash is doubled so that the escapes cannot be forged. Everything else is
/// kept as it was, so a hostile admin request is audited as sent instead of failing the insert.
public enum AuditText {
    public static func escaped(_ bytes: some Collection<UInt8>) -> String {
        var text = ""
        text.reserveCapacity(bytes.count)
        var input = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        // The parser consumes an invalid sequence without giving it back: keep the bytes seen so far.
        var pending = Array(bytes)[...]
        while true {
            switch parser.parseScalar(from: &input) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                switch scalar {
                case "\0": text += "\\u0000"
                case "\\": text += "\\\\"
                default: text.unicodeScalars.append(scalar)
                }
                pending = pending.dropFirst(encoded.count)
            case .error(let length):
                for byte in pending.prefix(length) { text += "\\x" + hex(byte) }
                pending = pending.dropFirst(length)
            case .emptyInput:
                return text
            }
        }
    }

    public static func escaped(_ string: String) -> String { escaped(Array(string.utf8)) }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}

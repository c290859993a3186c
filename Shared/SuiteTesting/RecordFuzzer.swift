public import Kafka

/// Mutates valid Kafka records into the hostile ones anyone with write access to a topic could
/// send: headers dropped, doubled or replaced by numbers at their limits, NUL bytes, control
/// characters, invalid UTF-8 and huge values; keys and payload fields likewise. Deterministic
/// for a seed, so a failing run can be repeated (the tests print the seed).
public struct RecordFuzzer: Sendable {
    public var generator: SeededGenerator

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// Values that have broken a consumer before, or sit at a limit of a type or a column.
    public static let hostileTexts: [[UInt8]] = [
        [], Array("0".utf8), Array("-1".utf8), Array("1".utf8), Array("2000000000".utf8), Array("9223372036854775807".utf8),
        Array("-9223372036854775808".utf8), Array("9223372036854775808".utf8), Array("253402300800000000".utf8),
        Array("1e308".utf8), Array("NaN".utf8), Array("o\u{0}x".utf8), [0xC3, 0x28], [0xFF, 0xFE], Array("\u{7}".utf8),
        Array(String(repeating: "x", count: 8_000).utf8), Array(String(repeating: "é", count: 1_500).utf8),
        Array("item-".utf8), Array("-".utf8), Array("item-o\u{0}".utf8), Array("'; DROP TABLE x; --".utf8),
        Array("e\u{301}\u{301}\u{301}\u{301}".utf8), Array("00000000-0000-0000-0000-000000000000".utf8),
    ]

    /// JSON values for a payload field.
    public static let hostileJSON: [String] = [
        #""o\u0000x""#, #""\u0000""#, "\"\(String(repeating: "y", count: 8_000))\"", "9223372036854775807", "-9223372036854775808",
        "99999999999999999999999", "1e400", "-1", "0", "null", "[]", "{}", "true", #""\ud800""#, "\"\u{7}\"", #""""#,
    ]

    mutating func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &generator)] }

    /// One to three mutations of `record`.
    public mutating func mutate(_ record: KafkaOutgoingMessage) -> KafkaOutgoingMessage {
        var record = record
        for _ in 0..<Int.random(in: 1...3, using: &generator) {
            switch Int.random(in: 0..<7, using: &generator) {
            case 0:  // a header's value replaced
                guard !record.headers.isEmpty else { continue }
                let index = Int.random(in: 0..<record.headers.count, using: &generator)
                let key = record.headers[index].key
                let value = pick(Self.hostileTexts)
                record.headers[index] = KafkaHeader(key: key, value: value)
                if key == "stream-id", Bool.random(using: &generator) { record.key = value }
            case 1:  // a header dropped
                guard !record.headers.isEmpty else { continue }
                record.headers.remove(at: Int.random(in: 0..<record.headers.count, using: &generator))
            case 2:  // a header doubled with another value (the first counts)
                guard !record.headers.isEmpty else { continue }
                let header = pick(record.headers)
                record.headers.insert(KafkaHeader(key: header.key, value: pick(Self.hostileTexts)), at: 0)
            case 3:  // the key
                record.key = Bool.random(using: &generator) ? nil : pick(Self.hostileTexts)
            case 4:  // a payload field's value
                record.value = Self.replacingField(in: record.value, with: pick(Self.hostileJSON), using: &generator)
            case 5:  // the payload cut short or replaced by bytes
                if Bool.random(using: &generator), !record.value.isEmpty {
                    record.value = Array(record.value.prefix(Int.random(in: 0..<record.value.count, using: &generator)))
                } else {
                    record.value = pick(Self.hostileTexts)
                }
            default:  // a header the envelope does not know, huge
                record.headers.append(KafkaHeader(key: "x-\(Int.random(in: 0..<100, using: &generator))", value: pick(Self.hostileTexts)))
            }
        }
        return record
    }

    /// The JSON text with the value of one `"name":` field (strings and numbers) replaced.
    static func replacingField(in json: [UInt8], with value: String, using generator: inout SeededGenerator) -> [UInt8] {
        let text = String(decoding: json, as: UTF8.self)
        var fields: [Range<String.Index>] = []
        var search = text.startIndex..<text.endIndex
        while let colon = text.range(of: "\":", range: search) {
            let start = colon.upperBound
            var end = start
            if end < text.endIndex, text[end] == "\"" {
                end = text.index(after: end)
                while end < text.endIndex, text[end] != "\"" { end = text.index(after: end) }
                if end < text.endIndex { end = text.index(after: end) }
            } else {
                while end < text.endIndex, !",}]".contains(text[end]) { end = text.index(after: end) }
            }
            if end > start { fields.append(start..<end) }
            search = colon.upperBound..<text.endIndex
        }
        guard !fields.isEmpty else { return json }
        var changed = text
        changed.replaceSubrange(fields[Int.random(in: 0..<fields.count, using: &generator)], with: value)
        return Array(changed.utf8)
    }
}

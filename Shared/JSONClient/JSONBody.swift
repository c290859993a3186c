public import Foundation

/// A request body, already serialized: made where the value is known, so that only bytes cross
/// into the call (a `[String: Any]` is not `Sendable`), and a value that is not JSON fails
/// there with a typed error instead of trapping inside Foundation.
public struct JSONBody: Sendable, Equatable {
    public let data: Data

    /// Bytes that already are JSON (a literal, or a body a test wants to send malformed).
    public init(raw data: Data) { self.data = data }

    public init(raw text: String) { self.data = Data(text.utf8) }

    /// A value encoded with `encoder` (by default ISO 8601 dates, keys sorted: stable bytes).
    public static func encode(_ value: some Encodable, encoder: JSONEncoder? = nil) throws(JSONClientError) -> JSONBody {
        do {
            return JSONBody(raw: try (encoder ?? JSONBody.defaultEncoder()).encode(value))
        } catch {
            throw JSONClientError(.invalidBody, underlying: "\(error)")
        }
    }

    /// A dictionary as `JSONSerialization` writes it.
    public static func object(_ object: [String: Any]) throws(JSONClientError) -> JSONBody {
        // JSONSerialization raises (not throws) on values it cannot write: check first.
        guard JSONSerialization.isValidJSONObject(object), let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        else { throw JSONClientError(.invalidBody, underlying: "not a JSON object: \(object)") }
        return JSONBody(raw: data)
    }

    static func defaultEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}

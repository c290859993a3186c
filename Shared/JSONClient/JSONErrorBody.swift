public import Foundation

/// What a service said went wrong, read from its error body. Two shapes are read: the suite's
/// services answer `{"error": code, "message": …, "details": {"field": …}}`; the HTTP framework
/// itself (unknown route, unreadable body) answers `{"error": {"message": …}}`, and a nested
/// `{"error": {"code", "message", "field"}}` is read the same way.
public struct JSONErrorBody: Sendable, Equatable {
    public var code: String?
    public var message: String?
    /// The request field at fault, when the service named one.
    public var field: String?

    public init(code: String? = nil, message: String? = nil, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    /// Nil when the body is not a JSON object with an `error` or a `message`.
    public init?(parsing body: Data) {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { return nil }
        let nested = object["error"] as? [String: Any]
        let details = object["details"] as? [String: Any]
        code = (object["error"] as? String) ?? (nested?["code"] as? String)
        message = (object["message"] as? String) ?? (nested?["message"] as? String)
        field = (details?["field"] as? String) ?? (nested?["field"] as? String) ?? (object["field"] as? String)
        if code == nil && message == nil { return nil }
    }
}

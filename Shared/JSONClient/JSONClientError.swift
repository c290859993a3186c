public import Foundation

/// A call that did not give the caller what it needed, with what an operator needs to follow it
/// up: the method and URL, the status and the service's own error when there was an answer,
/// and an excerpt of the body. `description` is one line for a log or a terminal;
/// `debugDescription` adds the body excerpt and the transport's own words. Neither carries the
/// bearer token or the request body.
public struct JSONClientError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What went wrong, as a code to compare with the static lets.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String

        /// No connection, or it broke before an answer: the service is down or not there.
        public static let unreachable = Kind(rawValue: "unreachable")
        /// No complete answer within the call's timeout.
        public static let timedOut = Kind(rawValue: "timed out")
        /// An answer, with a status the caller did not accept.
        public static let unexpectedStatus = Kind(rawValue: "unexpected status")
        /// An answer larger than the client's limit.
        public static let responseTooLarge = Kind(rawValue: "response too large")
        /// An answer whose body is not what the caller decodes.
        public static let undecodable = Kind(rawValue: "undecodable response")
        /// A request body that is not JSON.
        public static let invalidBody = Kind(rawValue: "invalid request body")
        public static let invalidURL = Kind(rawValue: "invalid URL")

        public var description: String { rawValue }
    }

    /// How much of a body an error keeps.
    public static let excerptLength = 500

    public var kind: Kind
    public var method: JSONClient.Method?
    public var url: String?
    public var status: Int?
    /// The service's error body, when it sent one.
    public var serviceError: JSONErrorBody?
    /// The first `excerptLength` bytes of the body, as text.
    public var bodyExcerpt: String?
    /// The transport's or decoder's own words.
    public var underlying: String?

    public init(
        _ kind: Kind, method: JSONClient.Method? = nil, url: String? = nil, status: Int? = nil, body: Data? = nil, underlying: String? = nil
    ) {
        self.kind = kind
        self.method = method
        self.url = url
        self.status = status
        self.serviceError = body.flatMap(JSONErrorBody.init(parsing:))
        self.bodyExcerpt = body.map { String(decoding: $0.prefix(Self.excerptLength), as: UTF8.self) }
        self.underlying = underlying
    }

    /// "POST http://…/path: HTTP 422 invalid_request: quantity: must be positive (field quantity)"
    public var description: String {
        var text = [method?.rawValue, url].compactMap { $0 }.joined(separator: " ")
        text += text.isEmpty ? "" : ": "
        if let status {
            text += "HTTP \(status)"
            if let serviceError {
                text += [serviceError.code, serviceError.message].compactMap { $0 }.reduce("") { $0 + " " + $1 }
                if let field = serviceError.field { text += " (field \(field))" }
            } else if let bodyExcerpt, !bodyExcerpt.isEmpty {
                // No error body to read (a proxy's page, a crash): the start of what came back.
                text += " " + bodyExcerpt.prefix(200)
            }
            if kind != .unexpectedStatus { text += " (\(kind))" }
        } else {
            text += kind.rawValue
        }
        if status == nil, let underlying { text += " (\(underlying))" }
        return text
    }

    public var debugDescription: String {
        var text = description
        if status != nil, let underlying { text += "; \(underlying)" }
        if let bodyExcerpt, !bodyExcerpt.isEmpty { text += "; body: \(bodyExcerpt)" }
        return text
    }
}

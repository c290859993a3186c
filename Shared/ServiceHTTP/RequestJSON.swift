public import EventSourcing
import Crypto
public import Foundation
import HTTPTypes
public import Hummingbird
import ServiceSupport

/// Request parsing that turns every problem into a 400 naming the field and the reason.
public enum RequestJSON {
    public static let maxBodyBytes = 1 << 20

    public static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: BasicRequestContext) async throws -> T {
        let body = try await collect(request)
        guard body.readableBytes > 0 else { throw ServiceError.invalidField("body", reason: "a JSON body is required") }
        return try decode(type, from: Data(buffer: body))
    }

    /// Like `decode`, but an empty body is allowed and gives nil.
    public static func decodeOptional<T: Decodable>(_ type: T.Type, from request: Request, context: BasicRequestContext) async throws -> T? {
        let body = try await collect(request)
        guard body.readableBytes > 0 else { return nil }
        return try decode(type, from: Data(buffer: body))
    }

    private static func collect(_ request: Request) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            throw ServiceError(.contentTooLarge, code: "body_too_large", message: "the body is larger than \(maxBodyBytes) bytes")
        }
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw fieldError(error)
        }
    }

    public static func fieldError(_ error: DecodingError) -> ServiceError {
        switch error {
        case .keyNotFound(let key, let context):
            return .invalidField(path(context.codingPath + [key]), reason: "is required")
        case .typeMismatch(let type, let context):
            return .invalidField(path(context.codingPath), reason: "must be \(describe(type))")
        case .valueNotFound(let type, let context):
            return .invalidField(path(context.codingPath), reason: "must be \(describe(type)), not null")
        case .dataCorrupted(let context):
            // Foundation reports a number that does not fit its field (1.5 or 1e30 for an
            // integer) without the field's path: say what is wrong rather than "not JSON".
            if context.codingPath.isEmpty {
                return .invalidField("body", reason: context.debugDescription.contains("umber") ? context.debugDescription : "is not valid JSON")
            }
            return .invalidField(path(context.codingPath), reason: context.debugDescription)
        @unknown default:
            return .invalidField("body", reason: "cannot be read")
        }
    }

    public static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
        }
        return text.isEmpty ? "body" : text
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type: "a whole number"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        default: "\(type)".hasPrefix("Array") ? "an array" : "an object"
        }
    }

    public static func pathParameter(_ name: String, of context: BasicRequestContext) throws -> String {
        guard let value = context.parameters.get(name), !value.isEmpty else {
            throw ServiceError.invalidField(name, reason: "is required")
        }
        return value
    }

    /// A path parameter that names a stream, `<category>-<id>`: 400 unless the id keeps
    /// `IdentifierRule` (a well-formed name of a stream that does not exist is a 404 later).
    public static func streamParameter(_ name: String, of context: BasicRequestContext) throws -> StreamName {
        let value = try pathParameter(name, of: context)
        guard let stream = StreamName(value), IdentifierRule.isValid(stream.category), IdentifierRule.isValid(stream.id) else {
            throw ServiceError.invalidField(
                name, reason: "must be <category>-<id>, the id \(IdentifierRule.description)")
        }
        return stream
    }

    /// A path parameter that names an entity (an id): 400 unless it keeps `IdentifierRule`.
    public static func idParameter(_ name: String, of context: BasicRequestContext) throws -> String {
        let value = try pathParameter(name, of: context)
        guard IdentifierRule.isValid(value) else {
            throw ServiceError.invalidField(name, reason: "must be \(IdentifierRule.description)")
        }
        return value
    }

    /// SHA-256 of the route and the request as decoded (keys sorted), so that formatting does
    /// not matter but any change of meaning does. Stored with an Idempotency-Key.
    public static func requestHash(_ route: String, _ body: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data(route.utf8)
        data.append(0x0A)
        data.append((try? encoder.encode(body)) ?? Data())
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    public static func queryInt64(_ name: String, of request: Request, minimum: Int64) throws -> Int64? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let value = Int64(text), value >= minimum else {
            throw ServiceError.invalidField(name, reason: "must be a whole number >= \(minimum)")
        }
        return value
    }

    public static func queryDate(_ name: String, of request: Request) throws -> Date? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        throw ServiceError.invalidField(name, reason: "must be an ISO-8601 time such as 2026-01-31T12:00:00Z")
    }

    /// The request's correlation id: the one `RequestLogMiddleware` gave the request (the
    /// caller's `X-Correlation-ID`, or a new one), so that its log lines and its events agree.
    public static func correlationID(of request: Request) -> String {
        MessageContext.current?.correlationID ?? headerCorrelationID(of: request) ?? newCorrelationID()
    }

    /// The caller's `X-Correlation-ID` when it is usable (1 to 200 bytes).
    static func headerCorrelationID(of request: Request) -> String? {
        guard let field = HTTPField.Name("X-Correlation-ID"), let value = request.headers[field], !value.isEmpty, value.utf8.count <= 200 else {
            return nil
        }
        return value
    }

    static func newCorrelationID() -> String { UUID().uuidString.lowercased() }

    public static func idempotencyKey(of request: Request) throws -> String? {
        guard let field = HTTPField.Name("Idempotency-Key"), let value = request.headers[field] else { return nil }
        guard !value.isEmpty, value.utf8.count <= 200 else {
            throw ServiceError.invalidField("Idempotency-Key", reason: "must be 1 to 200 bytes")
        }
        return value
    }

    /// `?limit=`: 1 to 1000, default 100.
    public static func limit(of request: Request, default value: Int = 100) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return value }
        guard let number = Int(text), (1...1_000).contains(number) else {
            throw ServiceError.invalidField("limit", reason: "must be a whole number from 1 to 1000")
        }
        return number
    }
}

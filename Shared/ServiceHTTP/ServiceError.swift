import Foundation
public import HTTPTypes
public import Hummingbird

/// The suite's HTTP error: `{"error": code, "message": ..., "details": {...}}` with the status
/// that says what went wrong (400 malformed, 404 unknown, 409 conflict, 422 rule violated,
/// 401/403 admin, 503 not ready).
public struct ServiceError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var details: [String: String]
    /// Seconds a client should wait before trying again (`Retry-After`), for a 503.
    public var retryAfterSeconds: Int?

    public init(_ status: HTTPResponse.Status, code: String, message: String, details: [String: String] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    /// A malformed or invalid field in a request.
    public static func invalidField(_ field: String, reason: String) -> Self {
        Self(.badRequest, code: "invalid_request", message: "\(field): \(reason)", details: ["field": field, "reason": reason])
    }

    public static func notFound(_ what: String, id: String) -> Self {
        Self(.notFound, code: "not_found", message: "no \(what) \(id)", details: [what: id])
    }

    private struct Body: Encodable {
        var error: String
        var message: String
        var details: [String: String]
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(Body(error: code, message: message, details: details))
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfterSeconds { headers[.retryAfter] = "\(retryAfterSeconds)" }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

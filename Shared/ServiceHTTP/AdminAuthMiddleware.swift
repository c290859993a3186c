import Foundation
import HTTPTypes
public import Hummingbird

/// Guards `/admin/...`: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.
/// 401 without a token, 403 with a wrong one; with no ADMIN_TOKEN configured admin is off
/// (403 `admin_disabled`), never open.
public struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]?

    public init(token: String?) {
        self.token = token.map { Array($0.utf8) }
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else {
            throw ServiceError(.forbidden, code: "admin_disabled", message: "admin is off: set ADMIN_TOKEN to enable it")
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw ServiceError(.unauthorized, code: "unauthorized", message: "admin routes need Authorization: Bearer <ADMIN_TOKEN>")
        }
        guard Self.constantTimeEqual(Array(header.dropFirst("Bearer ".count).utf8), token) else {
            throw ServiceError(.forbidden, code: "forbidden", message: "the admin token is not valid")
        }
        return try await next(request, context)
    }

    /// Compares without an early exit, so timing tells nothing about how much matched. The
    /// length difference is kept at full width: folded into a byte, a token followed by 256
    /// (or any multiple of 256) junk bytes compared equal.
    static func constantTimeEqual(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = given.count ^ expected.count
        for index in 0..<expected.count {
            difference |= Int((index < given.count ? given[index] : 0) ^ expected[index])
        }
        return difference == 0
    }
}

extension Request {
    /// Who performs an admin action, for the records: the `X-Operator` header (trimmed to 100
    /// characters), "admin" when absent.
    public var operatorName: String {
        guard let name = HTTPField.Name("X-Operator"), let value = headers[name], !value.isEmpty else { return "admin" }
        return String(value.prefix(100))
    }
}

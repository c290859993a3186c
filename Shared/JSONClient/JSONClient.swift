public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// JSON over HTTP for the suite's tools and tests: one base URL, JSON bodies both ways, an
/// optional bearer token, per-call headers and timeouts, and typed errors that say which call
/// failed and how (`JSONClientError`). Any status comes back as a `JSONResponse`; a caller that
/// wants only 2xx says so with `requireSuccess()`, so that polling loops can read a 404 as
/// "not yet" without catching anything.
public struct JSONClient: Sendable {
    public struct Configuration: Sendable {
        /// Put in front of every path that is not already an absolute URL ("http://…").
        public var baseURL: String
        /// Sent as `Authorization: Bearer …` on the calls marked `authorized`, and only on those,
        /// so that a token is never shown to a route that does not need it.
        public var bearerToken: String?
        /// Sent with every call (e.g. `X-Operator`); a call's own headers win.
        public var headers: [String: String]
        /// How long one call may take, connection and whole body included.
        public var timeout: Duration
        /// A larger answer is refused (`responseTooLarge`) instead of filling memory.
        public var maxResponseBytes: Int

        public init(
            baseURL: String = "", bearerToken: String? = nil, headers: [String: String] = [:], timeout: Duration = .seconds(30),
            maxResponseBytes: Int = 16 << 20
        ) {
            self.baseURL = baseURL
            self.bearerToken = bearerToken
            self.headers = headers
            self.timeout = timeout
            self.maxResponseBytes = maxResponseBytes
        }
    }

    public let configuration: Configuration
    private let http: HTTPClient

    /// `httpClient` is the shared one unless the caller needs other pool settings (a load
    /// generator needs more connections per host); the caller then owns its shutdown.
    public init(_ configuration: Configuration = Configuration(), httpClient: HTTPClient = .shared) {
        self.configuration = configuration
        self.http = httpClient
    }

    /// Sends one request and returns the answer whatever its status. Throws when there is no
    /// answer to return: the body could not be sent, the service could not be reached, the call
    /// timed out, or the answer was too large.
    public func send(
        _ method: Method, _ path: String, body: JSONBody? = nil, headers: [String: String] = [:], idempotencyKey: String? = nil,
        correlationID: String? = nil, authorized: Bool = false, timeout: Duration? = nil
    ) async throws(JSONClientError) -> JSONResponse {
        let url = resolve(path)
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method.rawValue)
        var fields = configuration.headers.merging(headers) { _, call in call }
        if let idempotencyKey { fields["Idempotency-Key"] = idempotencyKey }
        if let correlationID { fields["X-Correlation-Id"] = correlationID }
        if authorized, let token = configuration.bearerToken { fields["Authorization"] = "Bearer \(token)" }
        if let body {
            fields["Content-Type"] = "application/json"
            request.body = .bytes(ByteBuffer(bytes: body.data))
        }
        for (name, value) in fields { request.headers.add(name: name, value: value) }
        let limit = timeout ?? configuration.timeout
        do {
            let response = try await http.execute(request, timeout: Self.timeAmount(limit))
            let bytes = try await collect(response, method: method, url: url)
            var flat: [String: String] = [:]
            for header in response.headers { flat[header.name.lowercased()] = header.value }
            return JSONResponse(method: method, url: url, status: Int(response.status.code), headers: flat, body: bytes)
        } catch let error as JSONClientError {
            throw error
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw JSONClientError(.timedOut, method: method, url: url, underlying: "no answer within \(limit) (\(error))")
        } catch let error as HTTPClientError where error == .invalidURL {
            throw JSONClientError(.invalidURL, method: method, url: url, underlying: "\(error)")
        } catch {
            throw JSONClientError(.unreachable, method: method, url: url, underlying: "\(error)")
        }
    }

    /// `send(.get, …)`, for the most common call.
    public func get(_ path: String, headers: [String: String] = [:], authorized: Bool = false, timeout: Duration? = nil) async throws(JSONClientError)
        -> JSONResponse
    {
        try await send(.get, path, headers: headers, authorized: authorized, timeout: timeout)
    }

    /// `send(.post, …)`, for the second most common call.
    public func post(
        _ path: String, body: JSONBody? = nil, headers: [String: String] = [:], idempotencyKey: String? = nil, authorized: Bool = false,
        timeout: Duration? = nil
    ) async throws(JSONClientError) -> JSONResponse {
        try await send(.post, path, body: body, headers: headers, idempotencyKey: idempotencyKey, authorized: authorized, timeout: timeout)
    }

    /// The URL a path is sent to: the path itself when it is absolute, else after the base URL.
    public func resolve(_ path: String) -> String {
        if path.hasPrefix("http://") || path.hasPrefix("https://") { return path }
        guard configuration.baseURL.hasSuffix("/"), path.hasPrefix("/") else { return configuration.baseURL + path }
        return String(configuration.baseURL.dropLast()) + path
    }

    private func collect(_ response: HTTPClientResponse, method: Method, url: String) async throws -> Data {
        do {
            return Data((try await response.body.collect(upTo: configuration.maxResponseBytes)).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw JSONClientError(
                .responseTooLarge, method: method, url: url, status: Int(response.status.code),
                underlying: "the answer is larger than \(configuration.maxResponseBytes) bytes")
        }
    }

    private static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue + attoseconds / 1_000_000_000)
    }
}

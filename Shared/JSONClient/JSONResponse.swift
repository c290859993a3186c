public import Foundation

/// An answer of any status, with the call it answers (for error messages).
public struct JSONResponse: Sendable {
    public var method: JSONClient.Method
    public var url: String
    public var status: Int
    /// Header names in lower case.
    public var headers: [String: String]
    public var body: Data

    public init(method: JSONClient.Method, url: String, status: Int, headers: [String: String] = [:], body: Data) {
        self.method = method
        self.url = url
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var isSuccess: Bool { (200..<300).contains(status) }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object; nil when it is not one (empty, an array, not JSON).
    public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }

    /// The body as a JSON array; nil when it is not one.
    public var jsonArray: [Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [Any] }

    /// The service's error body, when the answer has one.
    public var serviceError: JSONErrorBody? { JSONErrorBody(parsing: body) }

    /// The body decoded as `T` (ISO 8601 dates unless `decoder` says otherwise).
    public func decode<T: Decodable>(_ type: T.Type, decoder: JSONDecoder? = nil) throws(JSONClientError) -> T {
        let decoder = decoder ?? {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return decoder
        }()
        do {
            return try decoder.decode(type, from: body)
        } catch {
            throw failure(.undecodable, underlying: "not a \(T.self): \(error)")
        }
    }

    /// Itself when 2xx; an `unexpectedStatus` error otherwise.
    @discardableResult
    public func requireSuccess() throws(JSONClientError) -> JSONResponse {
        guard isSuccess else { throw failure(.unexpectedStatus) }
        return self
    }

    /// Itself when the status is one of `expected`; an `unexpectedStatus` error otherwise.
    @discardableResult
    public func require(status expected: Int...) throws(JSONClientError) -> JSONResponse {
        guard expected.contains(status) else { throw failure(.unexpectedStatus, underlying: "expected HTTP \(expected.map { "\($0)" }.joined(separator: " or "))") }
        return self
    }

    /// An error about this answer, carrying its status, error body and an excerpt of its body.
    public func failure(_ kind: JSONClientError.Kind, underlying: String? = nil) -> JSONClientError {
        JSONClientError(kind, method: method, url: url, status: status, body: body, underlying: underlying)
    }
}

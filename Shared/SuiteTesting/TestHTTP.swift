public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1

/// A JSON-over-HTTP client for tests that drive the real services as processes.
public struct TestHTTP: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
        public var headers: [String: String]

        public func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(type, from: body)
        }

        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public let client: HTTPClient

    public init(client: HTTPClient = .shared) {
        self.client = client
    }

    public func get(_ url: String, headers: [String: String] = [:]) async throws -> Response {
        try await send("GET", url, body: nil, headers: headers)
    }

    public func post(_ url: String, json: [String: Any]? = nil, headers: [String: String] = [:]) async throws -> Response {
        let body = try json.map { try JSONSerialization.data(withJSONObject: $0) }
        return try await send("POST", url, body: body, headers: headers)
    }

    public func send(_ method: String, _ url: String, body: Data?, headers: [String: String] = [:]) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        var flat: [String: String] = [:]
        for header in response.headers { flat[header.name.lowercased()] = header.value }
        return Response(status: Int(response.status.code), body: Data(bytes.readableBytesView), headers: flat)
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The drill's HTTP calls. A call that cannot reach its service (stopped, crashed, paused)
/// throws; the callers decide whether to retry.
struct DrillHTTP: Sendable {
    struct Answer: Sendable {
        var status: Int
        var body: Data

        /// The body as a JSON object (empty when it is not one).
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    private let client = HTTPClient.shared

    func send(
        _ method: HTTPMethod, _ url: String, body: String? = nil, headers: [(String, String)] = [], timeout: Duration = .seconds(10)
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return Answer(status: Int(response.status.code), body: Data(buffer: bytes))
    }

    /// POST that must answer 2xx.
    func expectSuccess(_ url: String, body: String, headers: [(String, String)] = []) async throws -> Answer {
        let answer = try await send(.POST, url, body: body, headers: headers)
        guard (200..<300).contains(answer.status) else { throw Failed(description: "POST \(url): HTTP \(answer.status) \(String(decoding: answer.body, as: UTF8.self))") }
        return answer
    }
}

import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization

/// A small OTLP/HTTP trace receiver: keeps every `/v1/traces` request, and reads the spans of
/// those sent as JSON (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`).
final class OTLPReceiver: Sendable {
    struct Request: Sendable {
        var contentType: String
        var body: [UInt8]
    }

    struct ReceivedSpan: Sendable, CustomStringConvertible {
        var service: String
        var name: String
        var traceID: String
        var spanID: String
        var parentSpanID: String
        var links: [String]
        var description: String { "\(service): \(name) trace \(traceID) span \(spanID) parent \(parentSpanID)" }
    }

    private let requests = Mutex<[Request]>([])

    var received: [Request] { requests.withLock { $0 } }

    /// Runs the receiver on a free port for the duration of `body`.
    func serve(_ body: @Sendable (_ endpoint: String) async throws -> Void) async throws {
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 64 << 20)
            let type = request.headers[.contentType] ?? ""
            self.requests.withLock { $0.append(Request(contentType: type, body: Array(buffer: bytes))) }
            // An empty ExportTraceServiceResponse in the request's own encoding.
            return type.contains("json")
                ? Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
                : Response(status: .ok, headers: [.contentType: "application/x-protobuf"])
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            guard let port = client.port else { throw ReceiverError(reason: "the receiver has no port") }
            try await body("http://127.0.0.1:\(port)")
        }
    }

    /// Every span of the JSON requests so far.
    var spans: [ReceivedSpan] {
        received.filter { $0.contentType.contains("json") }.flatMap { request -> [ReceivedSpan] in
            guard let root = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else { return [] }
            return (root["resourceSpans"] as? [[String: Any]] ?? []).flatMap { resourceSpans -> [ReceivedSpan] in
                let attributes = (resourceSpans["resource"] as? [String: Any])?["attributes"] as? [[String: Any]] ?? []
                let service = attributes.first { $0["key"] as? String == "service.name" }
                    .flatMap { ($0["value"] as? [String: Any])?["stringValue"] as? String } ?? "?"
                return (resourceSpans["scopeSpans"] as? [[String: Any]] ?? []).flatMap { scope in
                    (scope["spans"] as? [[String: Any]] ?? []).map { span in
                        ReceivedSpan(
                            service: service, name: span["name"] as? String ?? "", traceID: Self.hex(span["traceId"]), spanID: Self.hex(span["spanId"]),
                            parentSpanID: Self.hex(span["parentSpanId"]),
                            links: (span["links"] as? [[String: Any]] ?? []).map { Self.hex($0["traceId"]) })
                    }
                }
            }
        }
    }

    /// An id as lowercase hex: OTLP/JSON writes hex, protobuf's JSON mapping base64.
    static func hex(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "" }
        if text.count == 32 || text.count == 16, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        guard let data = Data(base64Encoded: text) else { return text }
        return data.map { String(format: "%02x", $0) }.joined()
    }

    struct ReceiverError: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }
}

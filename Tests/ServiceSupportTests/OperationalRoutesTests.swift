import Foundation
import Hummingbird
import HummingbirdTesting
import Prometheus
import ServiceHTTP
import ServiceSupport
import Testing

@Suite("Health and metrics routes")
struct OperationalRoutesTests {
    struct Unreachable: Error, CustomStringConvertible {
        var description: String { "connection refused" }
    }

    private func app(checks: [ReadinessCheck], registry: PrometheusCollectorRegistry = .init()) -> some ApplicationProtocol {
        let router = Router()
        router.addOperationalRoutes(checks: checks, registry: registry)
        return Application(router: router)
    }

    @Test("live answers 200 whatever the dependencies say")
    func live() async throws {
        try await app(checks: [ReadinessCheck(name: "postgres") { throw Unreachable() }]).test(.router) { client in
            try await client.execute(uri: "/health/live", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("ready is 200 when every check passes, 503 naming the failing one otherwise")
    func ready() async throws {
        try await app(checks: [ReadinessCheck(name: "postgres") {}, ReadinessCheck(name: "kafka") {}]).test(.router) { client in
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
        try await app(checks: [ReadinessCheck(name: "postgres") {}, ReadinessCheck(name: "kafka") { throw Unreachable() }]).test(.router) {
            client in
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try #require(JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                let checks = try #require(body["checks"] as? [String: String])
                #expect(checks["postgres"] == "ok")
                #expect(checks["kafka"] == "failed: connection refused")
            }
        }
    }

    @Test("a check that hangs makes the service not ready instead of hanging the probe")
    func hangingCheck() async throws {
        try await app(checks: [ReadinessCheck(name: "postgres") { try await Task.sleep(for: .seconds(60)) }]).test(.router) { client in
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
    }

    @Test("metrics renders the registry in Prometheus text format")
    func metrics() async throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(descriptor: .init(namespace: "checkout", metricName: "probe", unitName: "total", helpText: "a probe")).increment(by: Int64(3))
        try await app(checks: [], registry: registry).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                #expect(String(buffer: response.body).contains("checkout_probe_total 3"))
            }
        }
    }

    @Test("errors are JSON with code, message and details")
    func errorBody() async throws {
        let router = Router()
        router.get("/fail") { _, _ -> String in throw ServiceError.invalidField("lines[0].quantity", reason: "must be positive") }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/fail", method: .get) { response in
                #expect(response.status == .badRequest)
                let body = try #require(JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                #expect(body["error"] as? String == "invalid_request")
                #expect((body["details"] as? [String: String])?["field"] == "lines[0].quantity")
            }
        }
    }
}

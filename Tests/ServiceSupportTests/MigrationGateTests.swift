import Foundation
import Hummingbird
import HummingbirdTesting
import Prometheus
@testable import ServiceHTTP
import Testing

/// While a service's migrations run it answers its probes and says so, and refuses every other
/// route with 503 `starting` (the schema, roles and grants the routes need may not be there).
@Suite("Migration gate")
struct MigrationGateTests {
    @Test("before the migrations: probes answer, readiness says running, other routes 503 starting; after: all served")
    func gate() async throws {
        let gate = StartupGate()
        let router = Router()
        router.add(middleware: MigrationGateMiddleware(gate: gate))
        router.addOperationalRoutes(checks: [.migrations(gate)], registry: PrometheusCollectorRegistry())
        router.post("/orders") { _, _ in "placed" }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/health/live", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("running"), "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/orders", method: .post) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
                #expect(String(buffer: response.body).contains("starting"))
            }
            gate.open(succeeded: true)
            try await client.execute(uri: "/health/ready", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/orders", method: .post) { #expect($0.status == .ok) }
        }
    }
}

import BoundedContexts
import CheckoutSuite
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Prometheus
import ServiceHTTP
import ServiceSupport
import SuiteTesting
import Testing

/// The projection service's query routes and the orchestrator's saga routes answer hostile ids
/// with a 400 naming the parameter (a NUL would otherwise reach PostgreSQL, which refuses it: a
/// 5xx), and a well-formed id of nothing with a 404.
@Suite("Query routes: hostile ids")
struct QueryRouteInputTests {
    /// The service's own router (as `ServiceHost` builds it, migrated) on a fresh database.
    private func withRoutes(
        of service: String, setup: @escaping ServiceHost.Setup, _ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void
    ) async throws {
        let kafka = try TestKafka()
        try await TestDatabase.withFresh { client, databaseURL in
            let producer = try kafka.producer()
            var configuration = ServiceConfiguration(serviceName: service, databaseURL: databaseURL, kafkaBrokers: kafka.bootstrapServers, port: 0)
            configuration.adminToken = "test-admin-token"
            let context = ServiceContext(
                configuration: configuration, roles: CheckoutNames.roles, logger: testLogger(service), registry: PrometheusCollectorRegistry(),
                postgres: client, kafkaProducer: producer)
            let router = Router()
            let plan = try await setup(context, router)
            // Admin calls run only once audited (the services migrate the audit log at start).
            try await AuditSchema.migrator(roles: CheckoutNames.roles).run(on: client, logger: testLogger("migrate"))
            for migrate in plan.migrations { try await migrate() }
            try await Application(router: router).test(.router) { http in try await body(http) }
            await producer.close()
        }
    }

    /// Each request is a 400 whose JSON names `field`.
    private func expectBadRequests(
        _ http: any TestClientProtocol, _ requests: [(uri: String, method: HTTPRequest.Method, field: String)]
    ) async throws {
        for (uri, method, field) in requests {
            try await http.execute(uri: uri, method: method, headers: [.authorization: "Bearer test-admin-token"]) { response in
                #expect(response.status == .badRequest, "\(uri): \(response.status) \(String(buffer: response.body).prefix(200))")
                let body = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect((body?["details"] as? [String: String])?["field"] == field, "\(uri): \(String(describing: body))")
            }
        }
    }

    @Test("hostile ids in query paths are 400 naming the parameter; an unknown well-formed id is 404")
    func hostileIDs() async throws {
        try await withRoutes(of: "projection-service", setup: SuiteService.setup(.projectionService, suite: checkoutSuite)) { http in
            try await expectBadRequests(http, [
                ("/orders/%00", .get, "orderId"), ("/orders/a%2Fb", .get, "orderId"), ("/stock/x'%20OR%201=1", .get, "sku"),
                ("/stock/%C3%A7", .get, "sku"), ("/customers/\(String(repeating: "c", count: 65))/orders", .get, "customerId"),
            ])
            try await http.execute(uri: "/orders/no-such-order", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test("hostile order ids in saga paths are 400 naming orderId; an unknown well-formed id is 404")
    func hostileSagaIDs() async throws {
        try await withRoutes(of: "saga-orchestrator", setup: SuiteService.setup(.sagaOrchestrator, suite: checkoutSuite)) { http in
            try await expectBadRequests(http, [
                ("/sagas/%00", .get, "orderId"), ("/sagas/a%2Fb", .get, "orderId"), ("/sagas/x'%20OR%201=1", .get, "orderId"),
                ("/sagas/\(String(repeating: "o", count: 65))", .get, "orderId"), ("/admin/sagas/%00/retry", .post, "orderId"),
                ("/admin/sagas/%C3%A7/retry", .post, "orderId"),
            ])
            try await http.execute(uri: "/sagas/no-such-order", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}

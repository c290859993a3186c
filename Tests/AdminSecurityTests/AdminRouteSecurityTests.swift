import BoundedContexts
import CheckoutSuite
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import Prometheus
import ServiceHTTP
import ServiceSupport
import SuiteTesting
import Testing

/// Every admin route of every service, taken from the router the service itself builds (no
/// hand-picked list), refuses a missing and a wrong token, and a refused call changes nothing
/// but the audit log, where it is recorded.
@Suite("Admin routes refuse callers without the token", .serialized)
struct AdminRouteSecurityTests {
    static let services: [(name: String, setup: ServiceHost.Setup)] = [
        ("command-service", SuiteService.setup(.commandService, suite: checkoutSuite)),
        ("projection-service", SuiteService.setup(.projectionService, suite: checkoutSuite)),
        ("saga-orchestrator", SuiteService.setup(.sagaOrchestrator, suite: checkoutSuite)),
    ]

    /// Builds the service's own router with `adminToken`, migrates, and hands over its admin
    /// routes (parameters filled with plausible values, so a call let through would act).
    private func withAdminRoutes(
        _ index: Int, adminToken: String?,
        _ body: @Sendable (any TestClientProtocol, [(path: String, method: HTTPRequest.Method)], PostgresClient) async throws -> Void
    ) async throws {
        let (name, setup) = Self.services[index]
        let kafka = try TestKafka()
        try await TestDatabase.withFresh { client, databaseURL in
            let producer = try kafka.producer()
            var configuration = ServiceConfiguration(serviceName: name, databaseURL: databaseURL, kafkaBrokers: kafka.bootstrapServers, port: 0)
            configuration.adminToken = adminToken
            let context = ServiceContext(
                configuration: configuration, roles: CheckoutNames.roles, logger: testLogger(name), registry: PrometheusCollectorRegistry(), postgres: client,
                kafkaProducer: producer)
            let router = Router()
            let plan = try await setup(context, router)
            try await AuditSchema.migrator(roles: CheckoutNames.roles).run(on: client, logger: testLogger("migrate"))
            for migrate in plan.migrations { try await migrate() }
            let adminRoutes = router.routes.filter { $0.path.description.hasPrefix("/admin") }.map { route in
                (path: route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "1" : String($0) }.joined(separator: "/"),
                 method: route.method)
            }
            #expect(!adminRoutes.isEmpty, "\(name) has admin routes")
            try await Application(router: router).test(.router) { http in try await body(http, adminRoutes, client) }
            await producer.close()
        }
    }

    static let plausibleBody = ByteBuffer(string: #"{"projection":"order-summary","stream":"order-1","reason":"x","topic":"t","offset":0,"from":1}"#)

    @Test("missing token -> 401, wrong token -> 403, nothing changed, every attempt audited", arguments: 0..<3)
    func everyAdminRouteIsGuarded(_ index: Int) async throws {
        let name = Self.services[index].name
        try await withAdminRoutes(index, adminToken: "the-right-token") { http, adminRoutes, client in
            let before = try await Self.fingerprint(client)
            for route in adminRoutes {
                let missing = try await http.execute(uri: route.path, method: route.method, headers: [.contentType: "application/json"], body: Self.plausibleBody)
                #expect(missing.status == .unauthorized, "\(name) \(route) without a token: \(missing.status)")
                let wrong = try await http.execute(
                    uri: route.path, method: route.method, headers: [.authorization: "Bearer the-wrong-token", .contentType: "application/json"],
                    body: Self.plausibleBody)
                #expect(wrong.status == .forbidden, "\(name) \(route) with a wrong token: \(wrong.status)")
            }
            #expect(try await Self.fingerprint(client) == before, "a refused call changed nothing")
            let audited = try await client.query(
                "SELECT count(*)::int8 FROM ops.audit_log WHERE service = \(name) AND status IN (401, 403)", logger: testLogger("q")
            ).collect().first?.decode(Int64.self)
            #expect(audited == Int64(adminRoutes.count * 2), "every refused attempt is in the audit log")
        }
    }

    @Test("with no ADMIN_TOKEN set admin is off: every route refuses any token with admin_disabled and changes nothing", arguments: 0..<3)
    func adminOffWithoutToken(_ index: Int) async throws {
        let name = Self.services[index].name
        try await withAdminRoutes(index, adminToken: nil) { http, adminRoutes, client in
            let before = try await Self.fingerprint(client)
            for route in adminRoutes {
                for headers: HTTPFields in [[.contentType: "application/json"], [.authorization: "Bearer ", .contentType: "application/json"],
                                            [.authorization: "Bearer anything", .contentType: "application/json"]] {
                    let response = try await http.execute(uri: route.path, method: route.method, headers: headers, body: Self.plausibleBody)
                    #expect(response.status == .forbidden, "\(name) \(route): \(response.status)")
                    #expect(String(buffer: response.body).contains("admin_disabled"), "\(name) \(route)")
                }
            }
            #expect(try await Self.fingerprint(client) == before, "a refused call changed nothing")
        }
    }

    /// Row counts and a checksum of every table the services own (the audit log aside).
    static func fingerprint(_ client: PostgresClient) async throws -> [String] {
        let tables = try await client.query(
            """
            SELECT table_schema || '.' || table_name FROM information_schema.tables
            WHERE table_schema IN ('event_store', 'read_models', 'sagas') AND table_type = 'BASE TABLE' ORDER BY 1
            """, logger: testLogger("q")
        ).collect().map { try $0.decode(String.self) }
        var rows: [String] = []
        for table in tables {
            let digest = try await client.query(
                PostgresQuery(unsafeSQL: "SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM \(table) t"),
                logger: testLogger("q")
            ).collect().first?.decode(String.self) ?? ""
            rows.append("\(table)=\(digest)")
        }
        return rows
    }
}

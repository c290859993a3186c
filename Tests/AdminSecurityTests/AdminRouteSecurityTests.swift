@testable import CommandService
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import Prometheus
@testable import ProjectionService
@testable import SagaOrchestrator
import ServiceSupport
import SuiteTesting
import Testing

/// Every admin route of every service, taken from the router the service itself builds (no
/// hand-picked list), refuses a missing and a wrong token, and a refused call changes nothing
/// but the audit log, where it is recorded.
@Suite("Admin routes refuse callers without the token", .serialized)
struct AdminRouteSecurityTests {
    static let services: [(name: String, setup: ServiceHost.Setup)] = [
        ("command-service", CommandServiceMain.setup),
        ("projection-service", ProjectionServiceMain.setup),
        ("saga-orchestrator", SagaOrchestratorMain.setup),
    ]

    @Test("missing token -> 401, wrong token -> 403, nothing changed, every attempt audited", arguments: 0..<3)
    func everyAdminRouteIsGuarded(_ index: Int) async throws {
        let (name, setup) = Self.services[index]
        let kafka = try TestKafka()
        try await TestDatabase.withFresh { client, databaseURL in
            let producer = try kafka.producer()
            var configuration = ServiceConfiguration(serviceName: name, databaseURL: databaseURL, kafkaBrokers: kafka.bootstrapServers, port: 0)
            configuration.adminToken = "the-right-token"
            let context = ServiceContext(
                configuration: configuration, logger: testLogger(name), registry: PrometheusCollectorRegistry(), postgres: client,
                kafkaProducer: producer)
            let router = Router()
            let plan = try await setup(context, router)
            try await AuditSchema.migrator.run(on: client, logger: testLogger("migrate"))
            for migrate in plan.migrations { try await migrate() }

            let adminRoutes = router.routes.filter { $0.path.description.hasPrefix("/admin") }.map { (path: $0.path.description, method: $0.method) }
            #expect(!adminRoutes.isEmpty, "\(name) has admin routes")
            let before = try await Self.fingerprint(client)
            try await Application(router: router).test(.router) { http in
                for route in adminRoutes {
                    // Parameters get plausible values, so the call would do something if let through.
                    let path = route.path.split(separator: "/").map { $0.hasPrefix(":") ? "1" : String($0) }.joined(separator: "/")
                    let body = ByteBuffer(string: #"{"projection":"order-summary","stream":"order-1","reason":"x","topic":"t","offset":0,"from":1}"#)
                    let missing = try await http.execute(uri: path, method: route.method, headers: [.contentType: "application/json"], body: body)
                    #expect(missing.status == .unauthorized, "\(name) \(route) without a token: \(missing.status)")
                    let wrong = try await http.execute(
                        uri: path, method: route.method, headers: [.authorization: "Bearer the-wrong-token", .contentType: "application/json"], body: body)
                    #expect(wrong.status == .forbidden, "\(name) \(route) with a wrong token: \(wrong.status)")
                }
            }
            #expect(try await Self.fingerprint(client) == before, "a refused call changed nothing")
            let audited = try await client.query(
                "SELECT count(*)::int8 FROM ops.audit_log WHERE service = \(name) AND status IN (401, 403)", logger: testLogger("q")
            ).collect().first?.decode(Int64.self)
            #expect(audited == Int64(adminRoutes.count * 2), "every refused attempt is in the audit log")
            await producer.close()
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

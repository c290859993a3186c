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

/// `POST /admin/projections/{name}/rebuild` while another rebuild holds the projection (issue 22).
@Suite("Rebuild route")
struct RebuildRouteTests {
    @Test("a rebuild of a projection another rebuild holds is refused with 409 rebuild_in_progress naming the owner; the claim is untouched")
    func secondRebuildRefused() async throws {
        let kafka = try TestKafka()
        try await TestDatabase.withFresh { client, databaseURL in
            let producer = try kafka.producer()
            var configuration = ServiceConfiguration(
                serviceName: "projection-service", databaseURL: databaseURL, kafkaBrokers: kafka.bootstrapServers, port: 0)
            configuration.adminToken = "token"
            let context = ServiceContext(
                configuration: configuration, roles: CheckoutNames.roles, logger: testLogger("projection-service"),
                registry: PrometheusCollectorRegistry(), postgres: client, kafkaProducer: producer)
            let router = Router()
            let plan = try await SuiteService.setup(.projectionService, suite: checkoutSuite)(context, router)
            try await AuditSchema.migrator(roles: CheckoutNames.roles).run(on: client, logger: testLogger("migrate"))
            for migrate in plan.migrations { try await migrate() }
            // Another instance's rebuild, beating now.
            _ = try await client.query(
                """
                INSERT INTO read_models.rebuilds (projection, status, owner, heartbeat_at) VALUES ('stock-levels', 'running', 'projection-2 run 0a1b2c3d', now())
                """, logger: testLogger("q")
            ).collect()
            try await Application(router: router).test(.router) { http in
                let response = try await http.execute(
                    uri: "/admin/projections/stock-levels/rebuild", method: .post, headers: [.authorization: "Bearer token"])
                let body = String(buffer: response.body)
                #expect(response.status == .conflict, "\(response.status): \(body)")
                #expect(body.contains("rebuild_in_progress") && body.contains("projection-2 run 0a1b2c3d"), "\(body)")
            }
            let claim = try await client.query(
                "SELECT owner, status FROM read_models.rebuilds WHERE projection = 'stock-levels'", logger: testLogger("q")
            ).collect().first?.decode((String, String).self)
            #expect(claim?.0 == "projection-2 run 0a1b2c3d" && claim?.1 == "running", "\(String(describing: claim))")
            await producer.close()
        }
    }
}

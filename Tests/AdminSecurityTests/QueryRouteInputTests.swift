import CheckoutSuite
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
@testable import ProjectionService
@testable import SagaOrchestrator
import Prometheus
import ServiceSupport
import SuiteTesting
import Testing

/// The projection service's query routes and the orchestrator's saga routes answer hostile ids
/// with a 400 naming the parameter (a NUL would otherwise reach PostgreSQL, which refuses it: a
/// 5xx), and a well-formed id of nothing with a 404.
@Suite("Query routes: hostile ids")
struct QueryRouteInputTests {
    @Test("hostile ids in query paths are 400 naming the parameter; an unknown well-formed id is 404")
    func hostileIDs() async throws {
        let kafka = try TestKafka()
        try await TestDatabase.withFresh { client, databaseURL in
            let producer = try kafka.producer()
            let configuration = ServiceConfiguration(serviceName: "projection-service", databaseURL: databaseURL, kafkaBrokers: kafka.bootstrapServers, port: 0)
            let context = ServiceContext(
                configuration: configuration, roles: CheckoutNames.roles, logger: testLogger("projection"), registry: PrometheusCollectorRegistry(),
                postgres: client, kafkaProducer: producer)
            let router = Router()
            let plan = try await ProjectionServiceMain.setup(context, router)
            for migrate in plan.migrations { try await migrate() }
            try await Application(router: router).test(.router) { http in
                for (uri, field) in [
                    ("/orders/%00", "orderId"), ("/orders/a%2Fb", "orderId"), ("/stock/x'%20OR%201=1", "sku"), ("/stock/%C3%A7", "sku"),
                    ("/customers/\(String(repeating: "c", count: 65))/orders", "customerId"),
                ] {
                    try await http.execute(uri: uri, method: .get) { response in
                        #expect(response.status == .badRequest, "\(uri): \(response.status) \(String(buffer: response.body).prefix(200))")
                        let body = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                        #expect((body?["details"] as? [String: String])?["field"] == field, "\(uri): \(String(describing: body))")
                    }
                }
                try await http.execute(uri: "/orders/no-such-order", method: .get) { response in
                    #expect(response.status == .notFound)
                }
            }
            await producer.close()
        }
    }

    @Test("hostile order ids in saga paths are 400 naming orderId; an unknown well-formed id is 404")
    func hostileSagaIDs() async throws {
        let kafka = try TestKafka()
        try await TestDatabase.withFresh { client, databaseURL in
            let producer = try kafka.producer()
            var configuration = ServiceConfiguration(serviceName: "saga-orchestrator", databaseURL: databaseURL, kafkaBrokers: kafka.bootstrapServers, port: 0)
            configuration.adminToken = "test-admin-token"
            let context = ServiceContext(
                configuration: configuration, roles: CheckoutNames.roles, logger: testLogger("orchestrator"), registry: PrometheusCollectorRegistry(),
                postgres: client, kafkaProducer: producer)
            let router = Router()
            let plan = try await SagaOrchestratorMain.setup(context, router)
            for migrate in plan.migrations { try await migrate() }
            let admin: HTTPFields = [.authorization: "Bearer test-admin-token"]
            try await Application(router: router).test(.router) { http in
                for (uri, method) in [
                    ("/sagas/%00", HTTPRequest.Method.get), ("/sagas/a%2Fb", .get), ("/sagas/x'%20OR%201=1", .get),
                    ("/sagas/\(String(repeating: "o", count: 65))", .get), ("/admin/sagas/%00/retry", .post), ("/admin/sagas/%C3%A7/retry", .post),
                ] {
                    try await http.execute(uri: uri, method: method, headers: admin) { response in
                        #expect(response.status == .badRequest, "\(uri): \(response.status) \(String(buffer: response.body).prefix(200))")
                        let body = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                        #expect((body?["details"] as? [String: String])?["field"] == "orderId", "\(uri): \(String(describing: body))")
                    }
                }
                try await http.execute(uri: "/sagas/no-such-order", method: .get) { response in
                    #expect(response.status == .notFound)
                }
            }
            await producer.close()
        }
    }
}

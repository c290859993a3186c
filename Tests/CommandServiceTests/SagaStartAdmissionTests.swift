@testable import BoundedContexts
import CheckoutSuite
import Checkout
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Sagas
import SuiteTesting
import Testing

/// Placing an order starts a checkout saga: while `MAX_RUNNING_SAGAS` of them run, a placement
/// is refused at once with 503 `overloaded` and `Retry-After`, and nothing is written; once
/// sagas finish there is room again. The starts admitted since the last reading count too
/// (their sagas may not exist yet).
@Suite("Saga start admission")
struct SagaStartAdmissionTests {
    static let order = #"{"customerId":"c-1","lines":[{"sku":"SKU-1","quantity":1,"unitPriceCents":100}],"paymentMethod":"card"}"#

    private func place(_ client: any TestClientProtocol) async throws -> TestResponse {
        try await client.execute(uri: "/orders", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: Self.order))
    }

    private func setRunning(_ client: PostgresClient, _ ids: [String], status: String) async throws {
        for id in ids {
            _ = try await client.query(
                """
                INSERT INTO sagas.instances (saga, correlation_id, status, step, state) VALUES ('checkout', \(id), \(status), 'reserving', '{}')
                ON CONFLICT (saga, correlation_id) DO UPDATE SET status = excluded.status
                """, logger: testLogger("q")
            ).collect()
        }
    }

    @Test("at the bound a placement gets 503 overloaded with Retry-After and writes nothing; finished sagas make room")
    func placementsAreBoundedByRunningSagas() async throws {
        try await TestDatabase.withFresh { postgres, _ in
            let store = PostgresEventStore(client: postgres, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            try await SagaSchema.migrator(roles: CheckoutNames.roles).run(on: postgres, logger: testLogger("migrate"))
            let running = RunningSagas(client: postgres, logger: testLogger("running"))
            let router = Router()
            try CommandSides(checkoutSuite, CommandEnvironment(store: store)).register(
                on: ContextRouter(
                    router: router, service: .commandService, adminToken: nil, client: postgres, logger: testLogger("routes"), maxCommandsInFlight: 256,
                    sagaStarts: (running, 2)))
            try await Application(router: router).test(.router) { client in
                // Not read yet (the orchestrator may not have created its tables): admitted.
                #expect(try await place(client).status == .created)
                try await running.refresh()
                // Two admitted since the reading began, before any of their sagas exists.
                #expect(try await place(client).status == .created)
                #expect(try await place(client).status == .created)
                let refused = try await place(client)
                #expect(refused.status == .serviceUnavailable)
                #expect(refused.headers[.retryAfter] == "1")
                let body = try JSONSerialization.jsonObject(with: Data(buffer: refused.body)) as? [String: Any]
                #expect(body?["error"] as? String == "overloaded", "\(String(describing: body))")
                #expect((body?["details"] as? [String: String])?["limit"] == "2")

                // Two sagas running (another saga's and a completed one do not count).
                try await setRunning(postgres, ["a", "b"], status: "running")
                try await setRunning(postgres, ["c"], status: "completed")
                try await running.refresh()
                #expect(try await place(client).status == .serviceUnavailable)
                try await setRunning(postgres, ["a"], status: "completed")
                try await running.refresh()
                #expect(try await place(client).status == .created, "a finished saga makes room")
                #expect(try await place(client).status == .serviceUnavailable)
            }
            let placed = try await postgres.query("SELECT count(*)::int8 FROM event_store.events WHERE event_type = 'OrderPlaced'", logger: testLogger("q"))
                .collect().first?.decode(Int64.self)
            #expect(placed == 4, "a refused placement writes nothing")
        }
    }
}

import Foundation
import PostgresNIO
import SuiteTesting
import Testing

/// The orchestrator killed with SIGKILL at random moments while checkouts run.
@Suite("Orchestrator crash", .serialized)
struct OrchestratorCrashTests {
    static let orders = 500
    static let skus = (1...20).map { "SKU-\($0)" }

    @Test("kill -9 the orchestrator during 500 concurrent checkouts: every saga finishes, nothing executed twice, stock balances")
    func killedDuringCheckouts() async throws {
        try await TestDatabase.withFresh { client, databaseURL in
            // Deadlines longer than a fail-over (the killed member's partitions move after its 6 s
            // session, and a loaded debug build restarts slowly): a real payment answered while
            // no orchestrator ran must not be taken for a silent gateway.
            let stack = try await CheckoutStack(
                databaseURL: databaseURL, sagaEnvironment: ["SAGA_PAYMENT_DEADLINE_MS": "20000", "SAGA_STEP_DEADLINE_MS": "30000", "SAGA_MAX_RETRIES": "1"])
            defer { stack.killAll() }
            for sku in Self.skus { try await stack.restock(sku, 60) }
            var generator = SeededGenerator(seed: 0xC0FFEE)
            // The mix: mostly successes, some declined, some silent gateways, some out of stock.
            let plans: [(lines: [(sku: String, quantity: Int)], method: String)] = (0..<Self.orders).map { index in
                let first = Self.skus[Int(generator.next() % UInt64(Self.skus.count))]
                let second = Self.skus[Int(generator.next() % UInt64(Self.skus.count))]
                switch index % 10 {
                case 7: return ([(first, 1)], "card-declined")
                case 8: return ([(first, 1)], "card-silent")
                case 9: return ([(first, 1), (second, 500)], "card")
                default: return ([(first, 1), (second, 1)], "card")
                }
            }
            let kills = (0..<3).map { _ in Duration.milliseconds(Int64(800 + generator.next() % 2_500)) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Orders go in from 25 clients at once.
                    try await withThrowingTaskGroup(of: Void.self) { clients in
                        for client in 0..<25 {
                            clients.addTask {
                                for index in stride(from: client, to: plans.count, by: 25) {
                                    _ = try await stack.placeOrder(customer: "c-\(index % 40)", lines: plans[index].lines, paymentMethod: plans[index].method)
                                }
                            }
                        }
                        try await clients.waitForAll()
                    }
                }
                group.addTask {
                    for pause in kills {
                        try await Task.sleep(for: pause)
                        stack.killOrchestrator()
                        try await stack.startOrchestrator()
                    }
                }
                try await group.waitForAll()
            }
            let placed = try await EffectChecks.count(client, "SELECT count(*)::int8 FROM event_store.events WHERE event_type = 'OrderPlaced'")
            #expect(placed == Int64(Self.orders))
            try await waitUntil("every saga finished", timeout: .seconds(300), every: .milliseconds(500)) {
                try await EffectChecks.count(client, "SELECT count(*)::int8 FROM sagas.instances WHERE status IN ('completed', 'compensated')") == placed
            }
            #expect(try await EffectChecks.count(client, "SELECT count(*)::int8 FROM sagas.instances WHERE status = 'failed'") == 0)
            #expect(try await EffectChecks.violations(client) == [])
            // Stock on hand equals restocked minus what completed checkouts committed.
            let unbalanced = try await client.query(
                """
                SELECT stream_id FROM event_store.events WHERE stream_type = 'stock'
                GROUP BY stream_id
                HAVING sum(CASE event_type WHEN 'StockRestocked' THEN (payload->>'quantity')::int ELSE 0 END)
                     - sum(CASE event_type WHEN 'StockCommitted' THEN (payload->>'quantity')::int ELSE 0 END) < 0
                """, logger: testLogger("checks")
            ).collect()
            #expect(unbalanced.isEmpty)
            for sku in Self.skus.prefix(3) {
                let levels = try await stack.stockLevels(sku)
                #expect(levels.reserved == 0, "\(sku) \(levels)")
            }
            let completed = try await EffectChecks.count(client, "SELECT count(*)::int8 FROM sagas.instances WHERE status = 'completed'")
            let reasons = try await client.query(
                "SELECT r || ' ×' || count(*) FROM (SELECT split_part(coalesce(state->>'reason', status), ':', 1) AS r FROM sagas.instances) o GROUP BY r ORDER BY count(*) DESC",
                logger: testLogger("checks")
            ).collect().map { try $0.decode(String.self) }
            #expect(completed > Int64(Self.orders) / 2, "most checkouts complete; outcomes: \(reasons)")
            await stack.stop()
        }
    }
}

import CheckoutSuite
import EventSourcing
import EventStore
import Foundation
import InvariantChecks
import Kafka
import PostgresNIO
import BoundedContexts
import SuiteTesting
import Testing

/// The invariant checker holds after a settled run of the three services, and each kind of
/// damage makes its check fail (a checker that cannot fail proves nothing).
@Suite("Invariant checker")
struct InvariantCheckerTests {
    private func failing(_ client: PostgresClient, _ store: PostgresEventStore, kafka: String) async -> [String: CheckResult] {
        let results = await InvariantChecker(SuiteInvariants.all(checkoutSuite, store: store, bootstrapServers: kafka, allowedParked: 0))
            .run(CheckContext(client: client, logger: testLogger("check")))
        return Dictionary(uniqueKeysWithValues: results.filter { !$0.holds }.map { ($0.name, $0) })
    }

    @Test("after a settled run every invariant holds; then each kind of damage is reported by its own check")
    func holdsThenCatchesDamage() async throws {
        try await TestDatabase.withFresh { client, databaseURL in
            let stack = try await CheckoutStack(databaseURL: databaseURL)
            let kafka = stack.kafka.bootstrapServers
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await stack.restock("PEN", 10)
            try await stack.restock("INK", 2)
            let success = try await stack.placeOrder(customer: "ada", lines: [("PEN", 2), ("INK", 1)], paymentMethod: "card")
            let outOfStock = try await stack.placeOrder(customer: "bob", lines: [("PEN", 1), ("INK", 5)], paymentMethod: "card")
            let declined = try await stack.placeOrder(customer: "cy", lines: [("PEN", 1)], paymentMethod: "card-declined")
            for order in [success, outOfStock, declined] { _ = try await stack.finishedSaga(order) }
            var last: [String: CheckResult] = [:]
            do {
                try await waitUntil("every invariant holds once the projections caught up", timeout: .seconds(60), every: .milliseconds(500)) {
                    last = await failing(client, store, kafka: kafka)
                    return last.isEmpty
                }
            } catch {
                Issue.record("still failing: \(last.values.map { "\($0.name): \($0.violations.prefix(3))" })")
                throw error
            }
            await stack.stop()

            // Each damage, with nothing running that could repair it, and the check that must see it.
            func damage(_ sql: PostgresQuery) async throws { _ = try await client.query(sql, logger: testLogger("damage")).collect() }
            try await damage("UPDATE read_models.stock_levels SET on_hand = on_hand + 1 WHERE sku = 'PEN'")
            var failed = await failing(client, store, kafka: kafka)
            #expect(failed["read-models-match-rebuild"] != nil && failed["stock-balances"] != nil, "\(failed.keys.sorted())")

            try await damage("UPDATE sagas.instances SET status = 'running', deadline_at = now() - interval '1 minute' WHERE correlation_id = \(success)")
            failed = await failing(client, store, kafka: kafka)
            #expect(failed["sagas-settled"] != nil, "\(failed.keys.sorted())")

            let version = try await store.version(of: "stock-PEN") ?? 0
            _ = try await store.append(
                to: StreamName(category: "stock", id: "PEN"), expected: .exact(version),
                events: [NewEvent(encoded: EncodedEvent(type: "StockReserved", schemaVersion: 1, payload: Array(#"{"sku":"PEN","orderId":"\#(success)","quantity":2}"#.utf8)), correlationID: "damage")])
            failed = await failing(client, store, kafka: kafka)
            #expect(failed["effects-once"] != nil && failed["outbox-drained"] != nil, "\(failed.keys.sorted())")

            let producer = try stack.kafka.producer()
            let stray = TestEvents.record(stream: "order-nowhere", streamType: "order", version: 1, type: "OrderConfirmed", payload: #"{"orderId":"nowhere"}"#)
            _ = try await producer.send(EventKafkaMapping.message(for: stray, topic: CheckoutNames.Topics.orderEvents))
            await producer.close()
            failed = await failing(client, store, kafka: kafka)
            #expect(failed["events-on-kafka"]?.violations.contains { $0.contains("order-nowhere") } == true, "\(failed.keys.sorted())")
        }
    }
}

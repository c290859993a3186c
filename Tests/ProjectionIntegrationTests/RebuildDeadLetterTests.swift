import Checkout
import CheckoutReadModels
import CheckoutSuite
import EventSourcing
import EventStore
import Foundation
import Kafka
import PostgresNIO
import Projections
import SuiteTesting
import Testing

/// A rebuild and the dead letters of its projection (issue 22): letters whose events the
/// rebuild applied are resolved (else the stream's next live events park behind them), and an
/// event an operator skipped stays unapplied (a skip is a decision for that projection).
@Suite("Projection rebuild and dead letters")
struct RebuildDeadLetterTests {
    private func restock(_ store: PostgresEventStore, sku: String, after version: Int64, quantities: [Int]) async throws {
        let events = quantities.map { quantity in
            NewEvent(
                encoded: EncodedEvent(type: "StockRestocked", schemaVersion: 1, payload: Array("{\"sku\":\"\(sku)\",\"quantity\":\(quantity)}".utf8)),
                correlationID: "dead-letter-rebuild")
        }
        _ = try await store.append(to: Stock.stream(sku), expected: .exact(version), events: events)
    }

    @Test("after a rebuild, letters it applied are resolved by \"rebuild\" and the stream flows live again; a skipped event stays unapplied")
    func rebuildResolvesAndHonoursSkips() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 2)
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            try await migrateReadModelsVerbose(client)
            try await restock(store, sku: "D", after: 0, quantities: [1, 1])
            try await restock(store, sku: "K", after: 0, quantities: [10, 1])
            let faults = FaultSwitch()
            faults.set(stream: "stock-D", failing: true)
            faults.set(stream: "stock-K", failing: true)
            let projections: [any Projection] = [FaultInjectingProjection(StockLevelsProjection(), faults: faults)]
            let producer = try kafka.producer()
            try await publish(try await store.readStream("stock-D") + store.readStream("stock-K"), to: kafka, producer: producer)
            let running = Task { try await processor(projections, client: client, kafka: kafka, instance: "p1").run() }
            try await waitUntil("D and K parked", timeout: .seconds(60)) {
                try await scalar(client, "SELECT count(*)::int8 FROM read_models.dead_letters WHERE status = 'parked'") == 4
            }
            let letters = DeadLetterStore(client: client, logger: testLogger("dl"), projections: projections)
            let kFirst = try #require(try await letters.list(.init(stream: "stock-K")).first { $0.streamVersion == 1 })
            _ = try await letters.skip(kFirst.id, reason: "the 10 was a typo", operator: "ops")
            faults.set(stream: "stock-D", failing: false)
            faults.set(stream: "stock-K", failing: false)

            _ = try await ProjectionRebuilder(projection: StockLevelsProjection(), store: store, logger: testLogger("rebuild")).rebuild()

            let after = try await letters.list(.init(status: nil))
            let byStatus = Dictionary(grouping: after, by: { "\($0.streamId) v\($0.streamVersion)" }).mapValues { $0.map { "\($0.status) by \($0.resolvedBy ?? "-")" } }
            #expect(byStatus["stock-D v1"] == ["replayed by rebuild"] && byStatus["stock-D v2"] == ["replayed by rebuild"], "\(byStatus)")
            #expect(byStatus["stock-K v2"] == ["replayed by rebuild"], "\(byStatus)")
            #expect(byStatus["stock-K v1"] == ["skipped by ops"], "\(byStatus)")
            #expect(try await scalar(client, "SELECT on_hand::int8 FROM read_models.stock_levels WHERE sku = 'K'") == 1, "the skipped 10 is not applied")
            #expect(try await scalar(client, "SELECT on_hand::int8 FROM read_models.stock_levels WHERE sku = 'D'") == 2)

            // D's next event is applied live, not parked behind letters the rebuild applied.
            try await restock(store, sku: "D", after: 2, quantities: [5])
            try await publish(try await store.readStream("stock-D", from: 3), to: kafka, producer: producer)
            try await waitUntil("D's next event applied live", timeout: .seconds(30)) {
                let parked = try await scalar(client, "SELECT count(*)::int8 FROM read_models.dead_letters WHERE stream_id = 'stock-D' AND stream_version = 3")
                let onHand = try await scalar(client, "SELECT on_hand::int8 FROM read_models.stock_levels WHERE sku = 'D'")
                return parked > 0 || onHand == 7
            }
            #expect(try await scalar(client, "SELECT on_hand::int8 FROM read_models.stock_levels WHERE sku = 'D'") == 7)
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.dead_letters WHERE status = 'parked'") == 0)
            running.cancel()
            _ = try? await running.value
            await producer.close()
        }
    }
}

import CheckoutSuite
import Checkout
import CheckoutReadModels
import EventSourcing
import EventStore
import Foundation
import Kafka
import PostgresNIO
import Projections
import SuiteTesting
import Synchronization
import Testing

@Suite("Projection rebuild")
struct RebuildTests {
    private func restock(_ store: PostgresEventStore, sku: String, from version: Int64, count: Int) async throws {
        let events = (0..<count).map { offset in
            NewEvent(
                encoded: EncodedEvent(type: "StockRestocked", schemaVersion: 1, payload: Array("{\"sku\":\"\(sku)\",\"quantity\":1}".utf8)),
                correlationID: "rebuild-test")
        }
        _ = try await store.append(to: Stock.stream(sku), expected: .exact(version), events: events)
    }

    @Test("rebuild while queries run and writes overlap the rebuild and the swap: reads never fail or go backwards, the swapped model equals the event store")
    func rebuildWhileServing() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 4)
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            try await migrateReadModels(client)
            let producer = try kafka.producer()
            let relay = Task { try await OutboxRelay(client: client, producer: producer, logger: testLogger("relay")).run() }
            let live = Task { try await processor([StockLevelsProjection()], client: client, kafka: kafka, instance: "live").run() }
            for index in 0..<200 { try await restock(store, sku: "SKU-\(index)", from: 0, count: 5) }
            try await waitUntil("the live model caught up", timeout: .seconds(120)) {
                try await scalar(client, "SELECT coalesce(sum(on_hand), 0)::int8 FROM read_models.stock_levels") == 1_000
            }

            // Readers: no failed read, and SKU-7 (restocked only) never goes down.
            let failures = TestCounter()
            let reads = TestCounter()
            let querying = Task {
                let queries = ReadModelQueries(client: client, logger: testLogger("reads"))
                var highest: Int64 = 0
                while !Task.isCancelled {
                    do {
                        guard let stock = try await queries.stock("SKU-7") else {
                            failures.increment()
                            Issue.record("SKU-7 missing during the rebuild")
                            continue
                        }
                        if stock.onHand < highest {
                            failures.increment()
                            Issue.record("SKU-7 went back from \(highest) to \(stock.onHand)")
                        }
                        highest = max(highest, stock.onHand)
                        reads.increment()
                    } catch is CancellationError {
                        return  // the test is over: its own cancellation is not a failed read
                    } catch {
                        guard !Task.isCancelled else { return }
                        failures.increment()
                        Issue.record("a read failed during the rebuild: \(String(reflecting: error))")
                    }
                }
            }
            // Writers: before, during and after the rebuild (SKU-7 among them), until told to stop.
            let stop = TestCounter()
            let writing = Task {
                var versions: [Int: Int64] = Dictionary(uniqueKeysWithValues: (0..<250).map { ($0, $0 < 200 ? 5 : 0) })
                var round = 0
                while stop.value == 0 || round < 50 {
                    for index in [7, round % 250] {
                        try await restock(store, sku: "SKU-\(index)", from: versions[index] ?? 0, count: 1)
                        versions[index, default: 0] += 1
                    }
                    round += 1
                }
                return round
            }
            try await waitUntil("writes under way", timeout: .seconds(30)) {
                try await scalar(client, "SELECT count(*)::int8 FROM event_store.events") > 1_010
            }
            var rebuilder = ProjectionRebuilder(projection: StockLevelsProjection(), store: store, logger: testLogger("rebuild"))
            // Between the rebuild's last read and the swap, let the live side apply events the
            // shadow has not seen: the swap must catch the shadow up with them.
            rebuilder.beforeSwap = {
                let before = try await scalar(client, "SELECT count(*)::int8 FROM event_store.events")
                try await waitUntil("the live side applied events after the rebuild's last read", timeout: .seconds(30)) {
                    let now = try await scalar(client, "SELECT count(*)::int8 FROM event_store.events")
                    let applied = try await scalar(client, "SELECT coalesce(sum(on_hand), 0)::int8 FROM read_models.stock_levels")
                    return now >= before + 10 && applied >= before + 10
                }
            }
            let report = try await rebuilder.rebuild()
            // Keep writing a while after the swap, then stop.
            try await waitUntil("writes after the swap", timeout: .seconds(60)) {
                try await scalar(
                    client,
                    "SELECT count(*)::int8 FROM event_store.events WHERE recorded_at > (SELECT finished_at FROM read_models.rebuilds WHERE projection = 'stock-levels')"
                ) >= 20
            }
            stop.increment()
            _ = try await writing.value

            // The writes provably overlapped the rebuild (recorded between its start and its swap).
            let during = try await scalar(
                client,
                """
                SELECT count(*)::int8 FROM event_store.events e, read_models.rebuilds r
                WHERE r.projection = 'stock-levels' AND e.recorded_at > r.started_at AND e.recorded_at < r.finished_at
                """)
            #expect(during > 0, "no write overlapped the rebuild")

            // The model the swap left, kept up to date by the live processor, equals the event store.
            let expectedTotal = try await scalar(client, "SELECT count(*)::int8 FROM event_store.events")
            try await waitUntil("the swapped model has every event", timeout: .seconds(120)) {
                try await scalar(client, "SELECT coalesce(sum(on_hand), 0)::int8 FROM read_models.stock_levels") == expectedTotal
            }
            let differing = try await scalar(
                client,
                """
                SELECT count(*)::int8 FROM (
                    SELECT payload->>'sku' AS sku, count(*) AS n FROM event_store.events GROUP BY 1
                ) e FULL JOIN read_models.stock_levels s ON s.sku = e.sku
                WHERE s.on_hand IS DISTINCT FROM e.n
                """)
            #expect(differing == 0, "a SKU whose read model differs from its events (an event lost or applied twice)")
            querying.cancel()
            live.cancel()
            relay.cancel()
            // The live processor's own failures are not swallowed: only its cancellation is expected.
            if case .failure(let error) = await live.result, !(error is CancellationError) {
                Issue.record("the live processor failed: \(String(reflecting: error))")
            }
            await producer.close()

            #expect(failures.value == 0, "a read failed or went backwards during the rebuild")
            #expect(reads.value > 0)
            #expect(report.eventsApplied >= 1_000)
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.stock_levels") >= 200)
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.stream_positions WHERE projection LIKE '%#rebuild'") == 0)
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM pg_tables WHERE schemaname = 'read_models' AND tablename LIKE 'stock_levels\\_\\_%'") == 0)
        }
    }
}

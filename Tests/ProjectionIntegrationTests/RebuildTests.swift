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

    @Test("rebuild while queries run and events keep arriving: queries never fail, the swapped model is the old one plus the new events")
    func rebuildWhileServing() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(partitions: 4)
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutTopics.topic(forStreamType:))
            try await store.migrate()
            try await migrateReadModels(client)
            let producer = try kafka.producer()
            let relay = Task { try await OutboxRelay(client: client, producer: producer, logger: testLogger("relay")).run() }
            let live = Task { try await processor([StockLevelsProjection()], client: client, kafka: kafka, instance: "live").run() }
            for index in 0..<200 { try await restock(store, sku: "SKU-\(index)", from: 0, count: 5) }
            try await waitUntil("the live model caught up", timeout: .seconds(120)) {
                try await scalar(client, "SELECT coalesce(sum(on_hand), 0)::int8 FROM read_models.stock_levels") == 1_000
            }

            let failures = TestCounter()
            let reads = TestCounter()
            let querying = Task {
                let queries = ReadModelQueries(client: client, logger: testLogger("reads"))
                while !Task.isCancelled {
                    do {
                        if try await queries.stock("SKU-7") == nil {
                            failures.increment()
                            Issue.record("SKU-7 missing during the rebuild")
                        }
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
            let writing = Task {
                for index in 0..<200 { try await restock(store, sku: "SKU-\(index)", from: 5, count: 2) }
                for index in 200..<250 { try await restock(store, sku: "SKU-\(index)", from: 0, count: 3) }
            }
            let report = try await ProjectionRebuilder(projection: StockLevelsProjection(), store: store, logger: testLogger("rebuild")).rebuild()
            try await writing.value
            let expected: Int64 = 200 * 7 + 50 * 3
            try await waitUntil("the swapped model has every event", timeout: .seconds(120)) {
                try await scalar(client, "SELECT coalesce(sum(on_hand), 0)::int8 FROM read_models.stock_levels") == expected
            }
            querying.cancel()
            live.cancel()
            relay.cancel()
            _ = try? await live.value
            await producer.close()

            #expect(failures.value == 0, "a read failed during the rebuild")
            #expect(reads.value > 0)
            #expect(report.eventsApplied >= 1_000)
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.stock_levels WHERE sku < 'SKU-2' OR sku >= 'SKU-2'") == 250)
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.stock_levels WHERE on_hand NOT IN (7, 3)") == 0, "an event applied twice or lost")
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.stream_positions WHERE projection LIKE '%#rebuild'") == 0)
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM pg_tables WHERE schemaname = 'read_models' AND tablename LIKE 'stock_levels\\_\\_%'") == 0)
        }
    }
}

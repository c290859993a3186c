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
import Testing

/// A lost send that the relay resends in order leaves v2, v1, v2 of a stream on the topic. The
/// projection must apply v1 then v2, never skip v1 as "already seen".
@Suite("Projections: events ahead of a gap")
struct VersionGapTests {
    @Test("OrderCancelled v2 before OrderPlaced v1 (neither in the event store), then the copy of v2: the order is placed and cancelled, nothing lost")
    func heldBackUntilTheGapFills() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 2)
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            // An empty event store: the gap cannot be filled from it, only by the copy.
            try await PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:)).migrate(roles: CheckoutNames.roles)
            let placed = TestEvents.record(
                stream: "order-o-gap", streamType: "order", version: 1, type: "OrderPlaced",
                payload: #"{"orderId":"o-gap","customerId":"c-gap","lines":[{"sku":"PEN","quantity":1,"unitPriceCents":100}],"totalCents":100,"paymentMethod":"card"}"#)
            let cancelled = TestEvents.record(
                stream: "order-o-gap", streamType: "order", version: 2, type: "OrderCancelled", payload: #"{"orderId":"o-gap","reason":"gone"}"#)
            // A second order after it, in order, shows the partition was read to its end.
            let after = TestEvents.record(
                stream: "order-o-after", streamType: "order", version: 1, type: "OrderPlaced",
                payload: #"{"orderId":"o-after","customerId":"c-gap","lines":[{"sku":"PEN","quantity":1,"unitPriceCents":100}],"totalCents":100,"paymentMethod":"card"}"#)
            let producer = try kafka.producer()
            try await publish([cancelled, placed, cancelled, after], to: kafka, producer: producer)

            let projections: [any Projection] = [OrderSummaryProjection(), CustomerProjection()]
            let running = Task { try await processor(projections, client: client, kafka: kafka, instance: "p1").run() }
            try await waitUntil("both orders projected", timeout: .seconds(60)) {
                let orders = try await scalar(client, "SELECT count(*)::int8 FROM read_models.orders WHERE order_id IN ('o-gap', 'o-after')")
                let cancelled = try await scalar(client, "SELECT count(*)::int8 FROM read_models.orders WHERE status = 'cancelled'")
                return orders == 2 && cancelled == 1
            }
            running.cancel()
            _ = try? await running.value
            await producer.close()

            let status = try await client.query(
                "SELECT status, coalesce(cancellation_reason, '') FROM read_models.orders WHERE order_id = 'o-gap'", logger: testLogger("q")
            ).collect().first?.decode((String, String).self)
            #expect(status?.0 == "cancelled" && status?.1 == "gone", "placed (v1) and then cancelled (v2)")
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.order_timeline WHERE order_id = 'o-gap'") == 2)
        }
    }

    @Test("OrderCancelled v2 arrives, OrderPlaced v1 never does: v1 is read from the event store and applied first")
    func gapFilledFromTheStore() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 2)
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            let orders = CommandHandler(decider: Order.decider(orderID: "o-lost"), codec: Order.codec, store: store)
            let context = CommandContext(correlationID: "c")
            _ = try await orders.handle(
                .place(customerID: "c-lost", lines: [OrderLine(sku: "PEN", quantity: 1, unitPriceCents: 100)], paymentMethod: "card"),
                on: Order.stream("o-lost"), context: context)
            _ = try await orders.handle(.cancel(reason: "gone"), on: Order.stream("o-lost"), context: context)
            let cancelled = try #require(try await store.readStream("order-o-lost").last)

            let producer = try kafka.producer()
            try await publish([cancelled], to: kafka, producer: producer)
            let projections: [any Projection] = [OrderSummaryProjection(), CustomerProjection()]
            let running = Task { try await processor(projections, client: client, kafka: kafka, instance: "p1").run() }
            try await waitUntil("the order placed and cancelled", timeout: .seconds(60)) {
                try await scalar(client, "SELECT count(*)::int8 FROM read_models.orders WHERE order_id = 'o-lost' AND status = 'cancelled'") == 1
            }
            running.cancel()
            _ = try? await running.value
            await producer.close()
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.order_timeline WHERE order_id = 'o-lost'") == 2)
        }
    }

    @Test("stream-version Int64.max and 2,000,000,000 on a record: no trap, no huge allocation; each parked as ahead of a gap the store cannot fill; the stream's next valid event is applied")
    func impossibleVersionsAreParked() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 2)
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            try await PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
                .migrate(roles: CheckoutNames.roles)
            func restock(_ version: Int64, _ quantity: Int) -> RecordedEvent {
                TestEvents.record(stream: "stock-G", streamType: "stock", version: version, type: "StockRestocked", payload: #"{"sku":"G","quantity":\#(quantity)}"#)
            }
            let producer = try kafka.producer()
            // One stream, so one partition: v1, the two impossible versions (each twice), then v2.
            let far = restock(Int64.max, 1_000)
            let farther = restock(2_000_000_000, 1_000)
            try await publish([restock(1, 5), far, farther, far, farther, restock(2, 7)], to: kafka, producer: producer)
            let running = Task { try await processor([StockLevelsProjection()], client: client, kafka: kafka, instance: "p1").run() }
            try await waitUntil("v1 and v2 applied", timeout: .seconds(60)) {
                try await scalar(client, "SELECT coalesce(sum(on_hand), 0)::int8 FROM read_models.stock_levels WHERE sku = 'G'") == 12
            }
            running.cancel()
            _ = try? await running.value
            await producer.close()
            let letters = try await client.query(
                "SELECT projection, stream_version, error, status FROM read_models.dead_letters ORDER BY stream_version", logger: testLogger("q")
            ).collect().map { try $0.decode((String, Int64, String, String).self) }
            #expect(letters.map(\.1) == [2_000_000_000, Int64.max], "each parked once: \(letters)")
            #expect(letters.allSatisfy { $0.0 == "@checkout-read-models" && $0.3 == "parked" }, "parked for the processor: \(letters)")
            #expect(letters.allSatisfy { $0.2.contains("ahead of a gap the event store cannot fill") }, "\(letters.map(\.2))")
            #expect(try await scalar(client, "SELECT version FROM read_models.stream_positions WHERE projection = 'stock-levels' AND stream_id = 'stock-G'") == 2)
        }
    }

    @Test("after a rebuild left one projection ahead (stock-levels at v3, the processor and applied-log at v1), v3 then v2 arrive: applied-log applies v2 then v3, stock-levels neither again (gap detection per projection)")
    func gapPerProjection() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 2)
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            try await RecordingProjection.createTable(client)
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            let restocks = (1...3).map { _ in
                NewEvent(encoded: EncodedEvent(type: "StockRestocked", schemaVersion: 1, payload: Array(#"{"sku":"P","quantity":1}"#.utf8)), correlationID: "gap")
            }
            _ = try await store.append(to: Stock.stream("P"), expected: .exact(0), events: restocks)
            let events = try await store.readStream("stock-P")
            // As a rebuild of stock-levels leaves them: its rows and position at v3; the
            // processor's arrival row and applied-log at v1.
            for statement in [
                "INSERT INTO read_models.stream_positions VALUES ('stock-levels', 'stock-P', 3), ('@checkout-read-models', 'stock-P', 1), ('applied-log', 'stock-P', 1)",
                "INSERT INTO read_models.stock_levels (sku, on_hand) VALUES ('P', 3)",
                "INSERT INTO public.applied_log (stream_id, version) VALUES ('stock-P', 1)",
            ] {
                _ = try await client.query(PostgresQuery(unsafeSQL: statement), logger: testLogger("q")).collect()
            }
            let producer = try kafka.producer()
            try await publish([events[2], events[1]], to: kafka, producer: producer)
            let running = Task { try await processor([StockLevelsProjection(), RecordingProjection()], client: client, kafka: kafka, instance: "p1").run() }
            try await waitUntil("both records consumed", timeout: .seconds(60)) {
                try await scalar(client, "SELECT coalesce(sum(next_offset), 0)::int8 FROM read_models.checkpoints") == 2
            }
            running.cancel()
            _ = try? await running.value
            await producer.close()
            #expect(try await RecordingProjection.applied(client, stream: "stock-P") == [1, 2, 3], "v2 applied before v3, none skipped")
            #expect(try await scalar(client, "SELECT on_hand FROM read_models.stock_levels WHERE sku = 'P'") == 3, "nothing applied twice")
        }
    }
}

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

/// A read model must not depend on the path an event took (issue 22, found by an upgrade in
/// place): records published before `recorded-at-us` existed carry their time only as
/// `ce_time`, to the millisecond, while a rebuild reads the store's microseconds.
@Suite("Projections: event times do not depend on the record's path")
struct RecordTimeTests {
    @Test("events whose records carry only ce_time are projected with the store's time: the live read models equal a rebuild (issue 22)")
    func storeTimeForMillisecondRecords() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 2)
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            let context = CommandContext(correlationID: "c")
            for order in ["o-t1", "o-t2", "o-t3"] {
                let orders = CommandHandler(decider: Order.decider(orderID: order), codec: Order.codec, store: store)
                _ = try await orders.handle(
                    .place(customerID: "c-time", lines: [OrderLine(sku: "PEN", quantity: 1, unitPriceCents: 100)], paymentMethod: "card"),
                    on: Order.stream(order), context: context)
                _ = try await orders.handle(.cancel(reason: "changed my mind"), on: Order.stream(order), context: context)
            }
            let events: [RecordedEvent] = try await store.readAll(after: 0)
            #expect(events.contains { $0.recordedAt.epochMicroseconds % 1_000 != 0 }, "a time with microseconds to lose")
            // As the suite published them before `recorded-at-us`: ce_time only.
            let producer = try kafka.producer()
            let messages = events.map { event in
                var message = TestEvents.message(event, topic: CheckoutNames.Topics.orderEvents)
                message.headers.removeAll { $0.key == "recorded-at-us" }
                return message
            }
            for result in await producer.send(messages) { _ = try result.get() }
            await producer.close()

            let projections: [any Projection] = [OrderSummaryProjection(), CustomerProjection()]
            let running = Task { try await processor(projections, client: client, kafka: kafka, instance: "p1").run() }
            try await waitUntil("the three orders projected, cancelled", timeout: .seconds(60)) {
                try await scalar(client, "SELECT count(*)::int8 FROM read_models.orders WHERE status = 'cancelled'") == 3
            }
            running.cancel()
            _ = try? await running.value
            for projection in projections {
                let differences = try await ProjectionRebuilder(projection: projection, store: store, logger: testLogger("verify")).differences()
                    .filter { $0.rows > 0 }
                #expect(differences.isEmpty, "\(projection.name): \(differences.map { "\($0.table): \($0.rows) rows, e.g. \($0.sample.prefix(2))" })")
            }
        }
    }

    @Test("rows an older version wrote with millisecond times are repaired from the event store by the read models' migrations (issue 22)")
    func rowsFromBeforeAreRepaired() async throws {
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            let logger = testLogger("repair")
            let store = PostgresEventStore(client: client, logger: logger, topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            let context = CommandContext(correlationID: "c")
            for order in ["o-r1", "o-r2"] {
                let orders = CommandHandler(decider: Order.decider(orderID: order), codec: Order.codec, store: store)
                _ = try await orders.handle(
                    .place(customerID: "c-repair", lines: [OrderLine(sku: "PEN", quantity: 1, unitPriceCents: 100)], paymentMethod: "card"),
                    on: Order.stream(order), context: context)
                _ = try await orders.handle(.confirm, on: Order.stream(order), context: context)
            }
            let stock = CommandHandler(decider: Stock.decider(sku: "PEN"), codec: Stock.codec, store: store)
            _ = try await stock.handle(.restock(quantity: 5), on: Stock.stream("PEN"), context: context)
            let events: [RecordedEvent] = try await store.readAll(after: 0)
            let readModels = CheckoutReadModels.all
            for readModel in readModels {
                _ = try await client.withTransaction(logger: logger) { connection in
                    try await readModel.projection.applyNew(events, on: connection, logger: logger)
                }
            }
            // What a version before issue 22 left: every time cut to the millisecond.
            for (table, columns) in [
                ("orders", ["placed_at", "updated_at"]), ("order_timeline", ["at"]), ("customer_orders", ["placed_at"]), ("stock_levels", ["updated_at"]),
            ] {
                let sets = columns.map { "\($0) = date_trunc('milliseconds', \($0))" }.joined(separator: ", ")
                _ = try await client.query(PostgresQuery(unsafeSQL: "UPDATE read_models.\(table) SET \(sets)"), logger: logger).collect()
            }
            func differing() async throws -> Int64 {
                var rows: Int64 = 0
                for readModel in readModels {
                    rows += try await ProjectionRebuilder(projection: readModel.projection, store: store, logger: logger).differences().reduce(0) { $0 + $1.rows }
                }
                return rows
            }
            #expect(try await differing() > 0, "the cut times differ from a rebuild")
            for readModel in readModels {
                for statement in readModel.migrations.filter({ $0.name == "times from the event store, to the microsecond" }).flatMap(\.statements) {
                    _ = try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
                }
            }
            #expect(try await differing() == 0, "repaired: equal to a rebuild")
        }
    }
}

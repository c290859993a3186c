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
        try kafka.createSuiteTopics(partitions: 2)
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
}

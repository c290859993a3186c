import CheckoutSuite
import Checkout
import EventSourcing
import EventStore
import Foundation
import Kafka
import Sagas
import SuiteTesting
import Testing

/// An event the checkout saga cannot read — a type it does not know on an order stream, or a
/// schema version newer than its code — is parked on the dead-letter topic with the reason, and
/// its saga is marked failed with the same reason; the orchestrator carries on with the rest.
@Suite("Saga: events it cannot read", .serialized)
struct SagaUnknownEventTests {
    @Test("an unknown event type and a newer schema version are dead-lettered with the reason, their sagas failed; other sagas go on")
    func parked() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 3)
        try await TestDatabase.withFresh { client, _ in
            let events = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await events.migrate(roles: CheckoutNames.roles)
            try await SagaSchema.migrator(roles: CheckoutNames.roles).run(on: client, logger: testLogger("migrate"))
            let store = SagaStore(definition: CheckoutSaga(commandTopic: CheckoutNames.Topics.commands), client: client, logger: testLogger("saga"))

            func placed(_ order: String, schemaVersion: Int = 3) -> RecordedEvent {
                TestEvents.record(
                    stream: "order-\(order)", streamType: "order", version: 1, type: "OrderPlaced",
                    payload: #"{"orderId":"\#(order)","customerId":"c","lines":[{"sku":"PEN","quantity":1,"unitPriceCents":100}],"totalCents":100,"paymentMethod":"card"}"#,
                    correlation: order, schemaVersion: schemaVersion)
            }
            let shipped = TestEvents.record(
                stream: "order-o-shipped", streamType: "order", version: 2, type: "OrderShipped", payload: #"{"orderId":"o-shipped"}"#,
                correlation: "o-shipped")
            let sent = [placed("o-shipped"), shipped, placed("o-future", schemaVersion: 9), placed("o-fine")]
            let producer = try kafka.producer()
            for result in await producer.send(sent.map { TestEvents.message($0, topic: CheckoutNames.Topics.orderEvents) }) { _ = try result.get() }

            let processor = SagaProcessor(
                configuration: .init(
                    groupID: "saga-test", topics: CheckoutNames.Topics.sagaEvents, instanceID: "t", bootstrapServers: kafka.bootstrapServers,
                    deadLetterTopic: CheckoutNames.Topics.deadLetters),
                store: store, producer: producer, logger: testLogger("processor"))
            let running = Task { try await processor.run() }
            // The dead-letter copies are written to the saga outbox; the command relay publishes them.
            let relay = Task { try await SagaCommandRelay(client: client, producer: producer, logger: testLogger("relay")).run() }
            let letters = try await kafka.readAll([CheckoutNames.Topics.deadLetters]) { $0.count >= 2 }
            try await waitUntil("the fine order's saga reserving", timeout: .seconds(60)) {
                try await client.query("SELECT step FROM sagas.instances WHERE correlation_id = 'o-fine'", logger: testLogger("q"))
                    .collect().first?.decode(String.self) == "reserving"
            }
            running.cancel()
            relay.cancel()
            _ = try? await running.value
            _ = try? await relay.value
            await producer.close()

            let reasons = Dictionary(
                letters.map { ($0.headers.string("stream-id") ?? "?", $0.headers.string("dlq-reason") ?? "") }, uniquingKeysWith: { first, _ in first })
            #expect(letters.count == 2, "\(reasons)")
            #expect(reasons["order-o-shipped"]?.contains("cannot handle OrderShipped from order-o-shipped@2") == true, "\(reasons)")
            #expect(reasons["order-o-shipped"]?.contains("unknown event type") == true, "\(reasons)")
            #expect(reasons["order-o-future"]?.contains("cannot start from OrderPlaced from order-o-future@1 (schema version 9)") == true, "\(reasons)")
            #expect(reasons["order-o-future"]?.contains("newer than this code knows") == true, "\(reasons)")
            #expect(letters.allSatisfy { $0.headers.string("dlq-processor") == "saga-test" })
            let shippedSaga = try await client.query(
                "SELECT status, error FROM sagas.instances WHERE correlation_id = 'o-shipped'", logger: testLogger("q")
            ).collect().first?.decode((String, String?).self)
            #expect(shippedSaga?.0 == "failed")
            #expect(shippedSaga?.1?.contains("unknown event type") == true)
        }
    }
}

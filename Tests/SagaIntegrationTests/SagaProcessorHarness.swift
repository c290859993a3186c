import CheckoutSuite
import Checkout
import EventSourcing
import EventStore
import Foundation
import Kafka
import PostgresNIO
import Sagas
import SuiteTesting
import Testing

/// A running checkout saga processor on its own Kafka cluster and fresh database, with topics of
/// ONE partition: every record a test sends shares its partition with the checkout that follows,
/// so a record the processor cannot get past would hold that checkout back.
struct SagaProcessorHarness: Sendable {
    let client: PostgresClient
    let producer: KafkaProducer
    let kafka: TestKafka

    static func run(_ body: @Sendable (SagaProcessorHarness) async throws -> Void) async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 1)
        try await TestDatabase.withFresh { client, _ in
            let events = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await events.migrate(roles: CheckoutNames.roles)
            try await SagaSchema.migrator(roles: CheckoutNames.roles).run(on: client, logger: testLogger("migrate"))
            let store = SagaStore(definition: CheckoutSaga(commandTopic: CheckoutNames.Topics.commands), client: client, logger: testLogger("saga"))
            let producer = try kafka.producer()
            let processor = SagaProcessor(
                configuration: .init(
                    groupID: "saga-test", topics: CheckoutNames.Topics.sagaEvents, instanceID: "t", bootstrapServers: kafka.bootstrapServers,
                    deadLetterTopic: CheckoutNames.Topics.deadLetters),
                store: store, producer: producer, logger: testLogger("processor"))
            let running = Task { try await processor.run() }
            let relay = Task { try await SagaCommandRelay(client: client, producer: producer, logger: testLogger("relay")).run() }
            let harness = SagaProcessorHarness(client: client, producer: producer, kafka: kafka)
            let outcome: Result<Void, any Error>
            do {
                try await body(harness)
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            running.cancel()
            relay.cancel()
            _ = try? await running.value
            _ = try? await relay.value
            await producer.close()
            try outcome.get()
        }
    }

    func send(_ messages: [KafkaOutgoingMessage]) async throws {
        for result in await producer.send(messages) { _ = try result.get() }
    }

    func send(_ event: RecordedEvent) async throws {
        try await send([TestEvents.message(event, topic: CheckoutNames.Topics.topic(forStreamType: event.streamType))])
    }

    /// An event of the checkout of `order` at the schema version the code writes today.
    static func event(_ type: String, stream: String, version: Int64, _ payload: String, order: String) -> RecordedEvent {
        let streamType = String(stream.prefix { $0 != "-" })
        return TestEvents.record(
            stream: stream, streamType: streamType, version: version, type: type, payload: payload, correlation: order,
            schemaVersion: EventExamples.schemaVersion(of: type) ?? 1)
    }

    static func placed(_ order: String, sku: String, stream: String? = nil) -> RecordedEvent {
        event(
            "OrderPlaced", stream: stream ?? "order-\(order)", version: 1,
            #"{"orderId":"\#(order)","customerId":"c","lines":[{"sku":"\#(sku)","quantity":1,"unitPriceCents":100}],"totalCents":100,"paymentMethod":"card"}"#,
            order: order)
    }

    /// Feeds the whole successful checkout of `order` (one SKU), each event after the saga
    /// reached the step that awaits it, and waits until the saga completed.
    func completeCheckout(_ order: String, sku: String, timeout: Duration = .seconds(60)) async throws {
        let steps: [(RecordedEvent, String)] = [
            (Self.placed(order, sku: sku), "reserving"),
            (Self.event("StockReserved", stream: "stock-\(sku)", version: 1, #"{"sku":"\#(sku)","orderId":"\#(order)","quantity":1}"#, order: order), "authorizing"),
            (
                Self.event("PaymentAuthorized", stream: "payment-\(order)", version: 1, #"{"orderId":"\#(order)","amountCents":100,"authorizationId":"a"}"#, order: order),
                "confirming"
            ),
            (Self.event("OrderConfirmed", stream: "order-\(order)", version: 2, #"{"orderId":"\#(order)"}"#, order: order), "committing"),
            (Self.event("StockCommitted", stream: "stock-\(sku)", version: 2, #"{"sku":"\#(sku)","orderId":"\#(order)","quantity":1}"#, order: order), "completed"),
        ]
        for (event, awaited) in steps {
            try await send(event)
            try await waitUntil("saga \(order) at step \(awaited) after \(event.type)", timeout: timeout) {
                try await step(of: order) == awaited
            }
        }
        #expect(try await status(of: order) == "completed")
    }

    func step(of order: String) async throws -> String? {
        try await client.query("SELECT step FROM sagas.instances WHERE correlation_id = \(order)", logger: testLogger("q")).collect().first?.decode(String.self)
    }

    func status(of order: String) async throws -> String? {
        try await client.query("SELECT status FROM sagas.instances WHERE correlation_id = \(order)", logger: testLogger("q")).collect().first?.decode(String.self)
    }
}

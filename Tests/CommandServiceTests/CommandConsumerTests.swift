import Checkout
@testable import CommandService
import EventStore
import Foundation
import Kafka
import ServiceSupport
import SuiteTesting
import Testing

@Suite("Commands from the checkout.commands topic")
struct CommandConsumerTests {
    @Test("a command delivered twice executes once; an unreadable one is dead-lettered; the rest go on")
    func executesOnceAndDeadLetters() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(partitions: 3)
        try await TestDatabase.withFresh { client, databaseURL in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutTopics.topic(forStreamType:))
            try await store.migrate()
            let commands = CheckoutCommands(store: store)
            _ = try await commands.stock("SKU-1").handle(.restock(quantity: 10), on: Stock.stream("SKU-1"), context: CommandContext(correlationID: "c"))

            let producer = try kafka.producer()
            let reserve = CheckoutCommandMessage(
                commandId: "saga:o-1:reserve:SKU-1", type: .reserveStock, orderId: "o-1", sku: "SKU-1", quantity: 3, correlationId: "o-1")
            let payment = CheckoutCommandMessage(
                commandId: "saga:o-1:authorize", type: .authorizePayment, orderId: "o-1", amountCents: 500, paymentMethod: "card", correlationId: "o-1")
            let encoder = JSONEncoder()
            var messages = try [reserve, reserve, payment].map {
                KafkaOutgoingMessage(topic: SuiteTopics.commands, key: $0.targetStream, value: Array(try encoder.encode($0)))
            }
            messages.insert(KafkaOutgoingMessage(topic: SuiteTopics.commands, key: "stock-SKU-1", value: Array("not json".utf8)), at: 1)
            for result in await producer.send(messages) { _ = try result.get() }

            let configuration = ServiceConfiguration(serviceName: "command-service", databaseURL: databaseURL, kafkaBrokers: kafka.bootstrapServers, port: 0)
            let consumer = CommandConsumer(commands: commands, configuration: configuration, producer: producer, logger: testLogger("consumer"))
            let running = Task { try await consumer.run() }
            try await waitUntil("the payment authorized", timeout: .seconds(60)) {
                try await store.version(of: Payment.stream("o-1").description) == 1
            }
            let letters = try await kafka.readAll([SuiteTopics.deadLetters]) { !$0.isEmpty }
            running.cancel()
            _ = try? await running.value
            await producer.close()

            let stock = try await commands.stock("SKU-1").load(Stock.stream("SKU-1"))
            #expect(stock.version == 2, "restock + one reservation")
            #expect(stock.state.reservations == ["o-1": 3])
            #expect(letters.count == 1)
            #expect(letters.first.map { String(decoding: $0.value, as: UTF8.self) } == "not json")
            #expect(letters.first?.headers.string("dlq-reason")?.hasPrefix("unreadable command") == true)
            let events = try await store.readStream(Stock.stream("SKU-1").description)
            #expect(events.last?.causationID == nil && events.last?.correlationID == "o-1")
        }
    }
}

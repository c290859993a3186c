@testable import BoundedContexts
@testable import CheckoutContext
import CheckoutSuite
import Checkout
import EventStore
import Foundation
import Kafka
import ServiceHTTP
import ServiceSupport
import SuiteTesting
import Testing

@Suite("Commands from the checkout.commands topic")
struct CommandConsumerTests {
    @Test("a command delivered twice executes once; an unreadable one is dead-lettered; the rest go on")
    func executesOnceAndDeadLetters() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 3)
        let logs = CapturedLogs()
        try await TestDatabase.withFresh { client, databaseURL in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            let commands = CheckoutCommands(store: store)
            _ = try await commands.stock("SKU-1").handle(.restock(quantity: 10), on: Stock.stream("SKU-1"), context: CommandContext(correlationID: "c"))

            let producer = try kafka.producer()
            let reserve = CheckoutCommandMessage(
                commandId: "saga:o-1:reserve:SKU-1", type: .reserveStock, orderId: "o-1", sku: "SKU-1", quantity: 3, correlationId: "o-1")
            let payment = CheckoutCommandMessage(
                commandId: "saga:o-1:authorize", type: .authorizePayment, orderId: "o-1", amountCents: 500, paymentMethod: "card", correlationId: "o-1")
            let encoder = JSONEncoder()
            // With the headers the saga's relay sets (the message context of the command's lines).
            var messages = try [reserve, reserve, payment].map {
                KafkaOutgoingMessage(
                    topic: CheckoutNames.Topics.commands, key: $0.targetStream, value: Array(try encoder.encode($0)),
                    headers: [KafkaHeader(key: "correlation-id", string: $0.correlationId), KafkaHeader(key: "ce_id", string: $0.commandId)])
            }
            messages.insert(KafkaOutgoingMessage(topic: CheckoutNames.Topics.commands, key: "stock-SKU-1", value: Array("not json".utf8)), at: 1)
            for result in await producer.send(messages) { _ = try result.get() }

            let configuration = ServiceConfiguration(serviceName: "command-service", databaseURL: databaseURL, kafkaBrokers: kafka.bootstrapServers, port: 0)
            let consumer = CommandChannelConsumer(
                channels: try CommandSides(checkoutSuite, CommandEnvironment(store: store)).channels, group: Suite.commandGroup,
                deadLetterTopic: checkoutSuite.deadLetterTopic, configuration: configuration, producer: producer, logger: logs.logger("consumer"))
            let running = Task { try await consumer.run() }
            try await waitUntil("the payment authorized", timeout: .seconds(60)) {
                try await store.version(of: Payment.stream("o-1").description) == 1
            }
            let letters = try await kafka.readAll([CheckoutNames.Topics.deadLetters]) { !$0.isEmpty }
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
            // A command that names no cause is its events' cause.
            #expect(events.last?.causationID == "saga:o-1:reserve:SKU-1" && events.last?.correlationID == "o-1")
            // Grepping the correlation id finds the command service's lines for both commands.
            let lines = logs.with("correlation_id", "o-1").filter { $0["msg"] == "command executed" }
            #expect(Set(lines.compactMap { $0["command_id"] }) == ["saga:o-1:reserve:SKU-1", "saga:o-1:authorize"])
            #expect(lines.allSatisfy { $0["stream_id"] != nil })
        }
    }

    @Test("a command that can never succeed (a 3,000-character SKU) is dead-lettered with its reason; the commands after it run")
    func impossibleCommandIsDeadLettered() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 1)
        try await TestDatabase.withFresh { client, databaseURL in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            let producer = try kafka.producer()
            let huge = String(repeating: "Z", count: 3000)
            let impossible = CheckoutCommandMessage(
                commandId: "checkout:o-1:ReserveStock:\(huge)", type: .reserveStock, orderId: "o-1", sku: huge, quantity: 1, correlationId: "o-1")
            let after = CheckoutCommandMessage(
                commandId: "checkout:o-2:AuthorizePayment", type: .authorizePayment, orderId: "o-2", amountCents: 500, paymentMethod: "card",
                correlationId: "o-2")
            let encoder = JSONEncoder()
            // One partition: the impossible command comes first and must not hold the other back.
            let messages = try [impossible, after].map {
                KafkaOutgoingMessage(topic: CheckoutNames.Topics.commands, key: $0.targetStream, value: Array(try encoder.encode($0)))
            }
            for result in await producer.send(messages) { _ = try result.get() }

            let configuration = ServiceConfiguration(serviceName: "command-service", databaseURL: databaseURL, kafkaBrokers: kafka.bootstrapServers, port: 0)
            let consumer = CommandChannelConsumer(
                channels: try CommandSides(checkoutSuite, CommandEnvironment(store: store)).channels, group: Suite.commandGroup,
                deadLetterTopic: checkoutSuite.deadLetterTopic, configuration: configuration, producer: producer, logger: testLogger("consumer"))
            let running = Task { try await consumer.run() }
            let letters = try await kafka.readAll([CheckoutNames.Topics.deadLetters]) { !$0.isEmpty }
            try await waitUntil("the command after it executed", timeout: .seconds(30)) {
                try await store.version(of: Payment.stream("o-2").description) == 1
            }
            running.cancel()
            _ = try? await running.value
            await producer.close()

            #expect(letters.count == 1)
            let reason = letters.first?.headers.string("dlq-reason") ?? ""
            #expect(reason.contains("cannot succeed") && reason.contains("stream id"), "\(reason)")
        }
    }
}

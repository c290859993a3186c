import Checkout
import CheckoutSuite
import EventSourcing
import EventStore
import Foundation
import Kafka
import PostgresNIO
import Sagas
import SuiteTesting
import Testing

/// A saga deadline means silence, not queueing: while the step's command waits ahead of the
/// command group's committed offset, its deadline is moved (no resend, no history, no
/// compensation); once the group is past it, the step's wait counts from then, and only then
/// does the deadline fire. Real PostgreSQL, the real command relay and a Kafka-protocol cluster;
/// the command group's progress is a commit made by the test.
@Suite("Saga deadlines count from consumption", .serialized)
struct QueuedDeadlineTests {
    static let wait = Duration.seconds(1)

    private static func placed(_ order: String) -> RecordedEvent {
        TestEvents.record(
            stream: "order-\(order)", streamType: Order.category, version: 1, type: "OrderPlaced",
            payload: #"{"orderId":"\#(order)","customerId":"c","lines":[{"sku":"PEN","quantity":1,"unitPriceCents":100}],"totalCents":100,"paymentMethod":"card"}"#,
            correlation: order, schemaVersion: EventExamples.schemaVersion(of: "OrderPlaced") ?? 1)
    }

    private static func deadlineEntries(_ client: PostgresClient, _ order: String) async throws -> Int {
        try await client.query(
            "SELECT count(*)::int8 FROM sagas.history WHERE correlation_id = \(order) AND kind = 'deadline'", logger: testLogger("q")
        ).collect().first.map { Int(try $0.decode(Int64.self)) } ?? -1
    }

    @Test("a deadline passing while the step's command is queued moves; it fires the step's wait after the command was consumed")
    func queuedCommandsDoNotFire() async throws {
        try await TestDatabase.withFresh { client, _ in
            let events = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await events.migrate(roles: CheckoutNames.roles)
            try await SagaSchema.migrator(roles: CheckoutNames.roles).run(on: client, logger: testLogger("migrate"))
            let kafka = try TestKafka()
            try kafka.createSuiteTopics([CheckoutNames.Topics.commands], partitions: 3)
            let group = "commands-\(UUID().uuidString.prefix(8))"
            let consumption = CommandConsumption(
                group: group, topics: [CheckoutNames.Topics.commands], bootstrapServers: kafka.bootstrapServers, interval: .milliseconds(50),
                logger: testLogger("watch"))
            let saga = CheckoutSaga(timeouts: .init(step: Self.wait, payment: Self.wait, retries: 1), commandTopic: CheckoutNames.Topics.commands)
            var store = SagaStore(definition: saga, client: client, logger: testLogger("saga"))
            store.deadlineWatch = DeadlineWatch(consumption: consumption, hold: CommandHold(), recheck: .milliseconds(100))
            let watcher = Task { try await consumption.run() }
            defer { watcher.cancel() }

            let order = "o-queued"
            #expect(try await store.handle(Self.placed(order)) == .advanced(status: .running, commands: 1))
            // Not published yet: queued in the outbox. Far past the deadline, nothing fires.
            var later = Date().addingTimeInterval(60)
            #expect(try await store.fireDueDeadlines(now: later) == .init(fired: 0, postponed: 1))

            let producer = try kafka.producer()
            let relay = Task { try await SagaCommandRelay(client: client, producer: producer, logger: testLogger("relay")).run() }
            defer { relay.cancel() }
            var landed: (partition: Int32, offset: Int64)?
            try await waitUntil("the reservation published") {
                let row = try await client.query(
                    "SELECT kafka_partition, kafka_offset FROM sagas.outbox WHERE correlation_id = \(order) AND published_at IS NOT NULL",
                    logger: testLogger("q")
                ).collect().first
                landed = try row?.decode((Int32, Int64).self)
                return landed != nil
            }
            guard let landed else { return }
            let partition = KafkaTopicPartition(topic: CheckoutNames.Topics.commands, partition: landed.partition)

            // On Kafka, ahead of the command group's position (it has committed nothing yet).
            later = later.addingTimeInterval(60)
            #expect(try await store.fireDueDeadlines(now: later) == .init(fired: 0, postponed: 1))
            #expect(try await Self.deadlineEntries(client, order) == 0, "no resend while queued")

            // Consumed: the group commits past it.
            let member = try KafkaConsumer(configuration: .consumer(bootstrapServers: kafka.bootstrapServers, groupID: group), topics: [], logger: testLogger("member"))
            try await member.commit([partition: landed.offset + 1])
            try await waitUntil("the watcher sees the command consumed") {
                if case .consumed = consumption.progress(of: partition, offset: landed.offset) { return true }
                return false
            }
            // Consumed less than the step's wait ago: moved again, by what is left of the wait.
            later = later.addingTimeInterval(60)
            #expect(try await store.fireDueDeadlines(now: later) == .init(fired: 0, postponed: 1))
            try await waitUntil("the step's wait passed since consumption", timeout: .seconds(10)) {
                if case .consumed(let ago) = consumption.progress(of: partition, offset: landed.offset) { return ago > Self.wait }
                return false
            }
            later = later.addingTimeInterval(60)
            #expect(try await store.fireDueDeadlines(now: later) == .init(fired: 1, postponed: 0))
            #expect(try await Self.deadlineEntries(client, order) == 1, "silence after consumption fires the deadline")
            await member.close()
            relay.cancel()
            _ = try? await relay.value
            await producer.close()
        }
    }
}

import Checkout
import CheckoutSuite
import EventSourcing
import Foundation
import Kafka
import SuiteTesting
import Testing

/// A net for the record path (issue 22): mutated records — headers, keys and payload fields at
/// their limits, NUL bytes, invalid UTF-8, huge values — on every partition of every topic the
/// three services consume, ahead of real checkouts. No process traps; every partition of the
/// projector gets past them (each record applied or parked, a parked one with a reason); and
/// the checkouts behind them, which cross every consumer, complete.
@Suite("Fuzzed records on every consumed topic", .serialized)
struct RecordFuzzTests {
    static let seed = UInt64(ProcessInfo.processInfo.environment["RECORD_FUZZ_SEED"] ?? "") ?? 0xF0CC_2222
    static let partitions = 6

    /// Valid records to mutate: one event of every type and one command of every kind, each
    /// copy about its own SKU, order and customer, so that a mutation that leaves a record
    /// valid never touches the checkouts' streams (a forged valid event is not the concern
    /// here: whoever may write to a topic can write one).
    static func templates(copy: Int) throws -> [KafkaOutgoingMessage] {
        let topics = CheckoutNames.Topics.self
        let topicOf = [Order.category: topics.orderEvents, Stock.category: topics.stockEvents, Payment.category: topics.paymentEvents]
        var messages: [KafkaOutgoingMessage] = try EventExamples.all.compactMap { example in
            guard let topic = topicOf[example.streamType] ?? (example.streamType == Customer.category ? topics.customerEvents : nil) else { return nil }
            let event = TestEvents.record(
                stream: "\(example.streamType)-fz\(copy)", streamType: example.streamType, version: 1, type: example.type,
                payload: String(decoding: try JSONEncoder().encode(example.payload), as: UTF8.self)
                    .replacingOccurrences(of: "\"PEN\"", with: "\"FZ-\(copy)\"")
                    .replacingOccurrences(of: "0b5c1f9e-3c1e-4a57-9d7e-2f4b8f0a6c11", with: "fz-order-\(copy)")
                    .replacingOccurrences(of: "\"c-42\"", with: "\"c-fz\(copy)\""),
                schemaVersion: EventExamples.schemaVersion(of: example.type) ?? 1)
            return TestEvents.message(event, topic: topic)
        }
        for kind in [CheckoutCommandMessage.Kind.reserveStock, .authorizePayment, .cancelOrder, .refundPayment] {
            let command = CheckoutCommandMessage(
                commandId: "fz-\(copy)-\(kind.rawValue)", type: kind, orderId: "fz-order-\(copy)", sku: "FZ-\(copy)", quantity: 1, amountCents: 100,
                paymentMethod: "card", reason: "fuzz", correlationId: "fz-\(copy)")
            messages.append(
                KafkaOutgoingMessage(
                    topic: topics.commands, key: command.targetStream, value: Array(try JSONEncoder().encode(command)),
                    headers: [KafkaHeader(key: "ce_id", string: command.commandId), KafkaHeader(key: "ce_type", string: kind.rawValue)]))
        }
        return messages
    }

    @Test("no process traps, the projector gets past every record, and checkouts behind them complete")
    func fuzzedRecords() async throws {
        try await TestDatabase.withFresh { client, databaseURL in
            let stack = try await CheckoutStack(databaseURL: databaseURL)
            defer { stack.killAll() }
            try await stack.restock("PEN", 1_000)
            var fuzzer = RecordFuzzer(seed: Self.seed)
            var hostile: [KafkaOutgoingMessage] = []
            for partition in 0..<Self.partitions {
                for template in try Self.templates(copy: partition) {
                    var record = fuzzer.mutate(template)
                    record.partition = Int32(partition)
                    hostile.append(record)
                }
            }
            let producer = try stack.kafka.producer()
            let sent = await producer.send(hostile)
            #expect(sent.filter { (try? $0.get()) != nil }.count > hostile.count / 2, "most fuzzed records reached the log")
            await producer.close()

            var orders: [String] = []
            for index in 0..<12 {
                orders.append(try await stack.placeOrder(customer: "c-fz-\(index)", lines: [(sku: "PEN", quantity: 1)], paymentMethod: "card"))
            }
            for order in orders {
                let saga = try await stack.finishedSaga(order, timeout: .seconds(120))
                #expect(saga["state"] as? String == "completed", "seed \(Self.seed): order \(order) behind \(hostile.count) fuzzed records: \(saga)")
            }
            try await waitUntil("the projector past every record (seed \(Self.seed))", timeout: .seconds(120), every: .milliseconds(500)) {
                guard let report = try await stack.http.get("\(stack.projectionURL)/projections").json,
                    let partitions = report["partitions"] as? [[String: Any]], !partitions.isEmpty
                else { return false }
                return partitions.allSatisfy { ($0["lag"] as? Int) == 0 }
            }
            let unexplained = try await client.query(
                "SELECT count(*)::int8 FROM read_models.dead_letters WHERE error = '' OR error IS NULL", logger: testLogger("q")
            ).collect().first?.decode(Int64.self)
            #expect(unexplained == 0, "every dead letter says why")
            for process in [stack.command, stack.projection] {
                #expect(process.isRunning, "seed \(Self.seed): \(process.name) exited")
            }
            #expect(try await stack.saga(orders[0]) != nil, "seed \(Self.seed): the orchestrator still answers")
            let levels = try await stack.stockLevels("PEN")
            #expect(levels.onHand == 1_000 - orders.count && levels.reserved == 0, "seed \(Self.seed): \(levels)")
        }
    }
}

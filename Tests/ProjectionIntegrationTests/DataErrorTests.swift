import CheckoutSuite
import CheckoutReadModels
import EventSourcing
import EventStore
import Foundation
import Kafka
import PostgresNIO
import Projections
import SuiteTesting
import Testing

/// Values PostgreSQL can never store (a NUL byte, an id too long for an index) are the event's
/// fault, not an outage (issue 22): the event is parked with the database's words and the
/// partition goes on. The park itself must not fail on the same bytes.
@Suite("Projections: data PostgreSQL cannot store")
struct DataErrorTests {
    static func placed(_ stream: String, orderId: String) -> RecordedEvent {
        let body = try? JSONEncoder().encode(["orderId": orderId])
        let id = String(decoding: body ?? Data(), as: UTF8.self).dropFirst(#"{"orderId":"#.count).dropLast()
        return TestEvents.record(
            stream: stream, streamType: "order", version: 1, type: "OrderPlaced",
            payload: #"{"orderId":\#(id),"customerId":"c-data","lines":[{"sku":"PEN","quantity":1,"unitPriceCents":100}],"totalCents":100,"paymentMethod":"card"}"#)
    }

    /// Letters PostgreSQL cannot compress below an index entry's limit (a run of one letter
    /// would compress to a few bytes and fit).
    static func incompressible(bytes: Int) -> String {
        var generator = SeededGenerator(seed: 22)
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<bytes).map { _ in letters[Int(generator.next() % UInt64(letters.count))] })
    }

    @Test("an orderId with a NUL, an 8,000-byte orderId, a payload with a raw NUL byte and a stream id with a NUL are parked with reasons; the valid order after them on the same partition is applied")
    func unstorableValuesAreParked() async throws {
        let kafka = try TestKafka()
        // One partition: every record below is on it, the valid order last.
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 1)
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            try await PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
                .migrate(roles: CheckoutNames.roles)
            let topic = CheckoutNames.Topics.orderEvents
            var rawNUL = TestEvents.message(Self.placed("order-o-raw", orderId: "o-raw"), topic: topic)
            rawNUL.value = Array(#"{"orderId":"o-"#.utf8) + [0] + Array(#"raw","customerId":"c"}"#.utf8)
            let messages = [
                TestEvents.message(Self.placed("order-o-nul", orderId: "o\u{0}x"), topic: topic),
                TestEvents.message(Self.placed("order-o-long", orderId: Self.incompressible(bytes: 8_000)), topic: topic),
                rawNUL,
                TestEvents.message(Self.placed("order-o\u{0}key", orderId: "o-key"), topic: topic),
                TestEvents.message(Self.placed("order-o-ok", orderId: "o-ok"), topic: topic),
            ]
            let producer = try kafka.producer()
            for message in messages { _ = try await producer.send([message])[0].get() }
            let projections: [any Projection] = [OrderSummaryProjection(), CustomerProjection()]
            let running = Task { try await processor(projections, client: client, kafka: kafka, instance: "p1").run() }
            try await waitUntil("the valid order applied", timeout: .seconds(60)) {
                try await scalar(client, "SELECT count(*)::int8 FROM read_models.orders WHERE order_id = 'o-ok'") == 1
            }
            running.cancel()
            _ = try? await running.value
            await producer.close()

            var reasons: [String: [String]] = [:]
            for row in try await client.query("SELECT stream_id, projection || ': ' || error FROM read_models.dead_letters", logger: testLogger("q")).collect() {
                let (stream, reason) = try row.decode((String, String).self)
                reasons[stream, default: []].append(reason)
            }
            // A NUL inside a payload string is refused by the envelope check already (no stored
            // event can hold one): parked once for every projection, before any statement.
            #expect(
                reasons["order-o-nul"]?.count == 1 && reasons["order-o-nul"]?.allSatisfy { $0.hasPrefix("*: ") && $0.contains("NUL character") } == true,
                "\(reasons)")
            #expect(reasons["order-o-long"]?.contains { $0.contains("54000") } == true, "\(reasons)")
            #expect(reasons["order-o-raw"]?.isEmpty == false, "\(reasons)")
            #expect(reasons["order-o\\0key"]?.isEmpty == false, "the stream id with a NUL, parked with the NUL written \\0: \(reasons)")
            #expect(reasons["order-o-ok"] == nil)
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.customer_orders WHERE order_id = 'o-ok'") == 1)
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.orders") == 1, "nothing of the parked orders written")
            // The raw NUL payload's letter keeps the bytes (base64): nothing is lost for the operator.
            #expect(
                try await scalar(client, "SELECT count(*)::int8 FROM read_models.dead_letters WHERE stream_id = 'order-o-raw' AND event ? 'payloadBase64'") >= 1)
        }
    }
}

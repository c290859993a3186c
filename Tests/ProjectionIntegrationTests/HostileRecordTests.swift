import CheckoutSuite
import CheckoutReadModels
import EventSourcing
import Foundation
import Kafka
import PostgresNIO
import Projections
import SuiteTesting
import Testing

/// Hostile input on the event topics (issue 13): records a broken or malicious producer could
/// put there. Each is parked as a dead letter with a reason that names what is wrong, never
/// applied, never a crash, and the valid records around it go on.
@Suite("Hostile records on the event topics")
struct HostileRecordTests {
    struct Case: Sendable {
        var name: String
        /// The stream (and record key) the hostile record is on, one per case.
        var stream: String
        var message: KafkaOutgoingMessage
        /// A fragment of the dead letter's reason; nil when the record must be ignored instead.
        var reason: String?
    }

    static let topic = CheckoutNames.Topics.stockEvents

    static func restock(_ stream: String, version: Int64 = 1, schemaVersion: Int = 1, payload: String? = nil) -> KafkaOutgoingMessage {
        let sku = String(stream.dropFirst("stock-".count))
        return TestEvents.message(
            TestEvents.record(
                stream: stream, streamType: "stock", version: version, type: "StockRestocked",
                payload: payload ?? #"{"sku":"\#(sku)","quantity":5}"#, position: 1, schemaVersion: schemaVersion),
            topic: topic)
    }

    static func replacing(_ header: String, with value: String?, in message: KafkaOutgoingMessage) -> KafkaOutgoingMessage {
        var changed = message
        changed.headers.removeAll { $0.key == header }
        if let value { changed.headers.insert(KafkaHeader(key: header, string: value), at: 0) }
        return changed
    }

    static var cases: [Case] {
        var cases: [Case] = []
        func add(_ name: String, _ stream: String, reason: String?, _ make: (KafkaOutgoingMessage) -> KafkaOutgoingMessage) {
            cases.append(Case(name: name, stream: stream, message: make(restock(stream)), reason: reason))
        }
        add("payload not JSON", "stock-H01", reason: "StockRestocked") { var m = $0; m.value = Array("{not json".utf8); return m }
        add("payload truncated", "stock-H02", reason: "StockRestocked") { var m = $0; m.value = Array(#"{"sku":"H02","quan"#.utf8); return m }
        add("quantity of the wrong type", "stock-H03", reason: "quantity") { var m = $0; m.value = Array(#"{"sku":"H03","quantity":"many"}"#.utf8); return m }
        add("quantity overflowing", "stock-H04", reason: "cannot decode payload") {
            var m = $0; m.value = Array(#"{"sku":"H04","quantity":99999999999999999999999}"#.utf8); return m
        }
        add("a newer schema version than the codec knows", "stock-H05", reason: "99") { replacing("schema-version", with: "99", in: $0) }
        add("no headers at all", "stock-H06", reason: "ce_id: missing") { var m = $0; m.headers = []; return m }
        add("event id not a UUID", "stock-H07", reason: "ce_id: not a UUID") { replacing("ce_id", with: "'; DROP TABLE x; --", in: $0) }
        add("stream version not a number", "stock-H08", reason: "stream-version: not a number") { replacing("stream-version", with: "two", in: $0) }
        add("stream version 0 (would read as a redelivery)", "stock-H09", reason: "stream-version: must be 1 or more") {
            replacing("stream-version", with: "0", in: $0)
        }
        add("stream id differs from the key", "stock-H10", reason: "differs from the record key") { replacing("stream-id", with: "stock-OK", in: $0) }
        add("stream type lies", "stock-H11", reason: "stream-type: order differs") { replacing("stream-type", with: "order", in: $0) }
        add("stream id without a category", "stock-H12", reason: "stream-id: not <category>-<id>") { m in
            var changed = replacing("stream-id", with: "nocategory", in: m)
            changed.key = Array("nocategory".utf8)
            return changed
        }
        add("schema version negative", "stock-H13", reason: "schema-version: must be 1 or more") { replacing("schema-version", with: "-1", in: $0) }
        add("time not a time", "stock-H14", reason: "recorded-at-us: not a number") { replacing("recorded-at-us", with: "yesterday", in: $0) }
        // A stock stream's event of a type this code does not know (newer code wrote it): parked
        // for the projections of stock streams, not passed by.
        add("an event type this code does not know, on a stock stream", "stock-H15", reason: "unknown event type StockTeleported v1 on a stock stream") {
            replacing("ce_type", with: "StockTeleported", in: $0)
        }
        return cases
    }

    @Test("each hostile record is parked with a reason naming what is wrong, once even when delivered twice; valid records go on; nothing is half-written")
    func hostileRecordsAreParked() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 3)
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            let producer = try kafka.producer()
            let cases = Self.cases
            // Each hostile record twice (a redelivery), then a valid event on another stream.
            for message in cases.map(\.message) + cases.map(\.message) + [Self.restock("stock-OK")] {
                _ = try await producer.send([message])[0].get()
            }
            let running = Task { try await processor([StockLevelsProjection()], client: client, kafka: kafka, instance: "p1").run() }
            let parkedCases = cases.filter { $0.reason != nil }
            try await waitUntil("the valid event applied and every hostile record parked", timeout: .seconds(60)) {
                let applied = try await scalar(client, "SELECT coalesce(sum(on_hand), 0)::int8 FROM read_models.stock_levels WHERE sku = 'OK'")
                let parked = try await scalar(client, "SELECT count(DISTINCT stream_id)::int8 FROM read_models.dead_letters")
                // Every record of the topic behind a checkpoint: both copies of each were seen.
                let consumed = try await scalar(
                    client, "SELECT coalesce(sum(next_offset), 0)::int8 FROM read_models.checkpoints WHERE topic = '\(Self.topic)'")
                return applied == 5 && parked >= Int64(parkedCases.count) && consumed == Int64(2 * cases.count + 1)
            }
            var reasons: [String: [String]] = [:]
            for row in try await client.query("SELECT stream_id, error FROM read_models.dead_letters", logger: testLogger("q")).collect() {
                let (stream, error) = try row.decode((String, String).self)
                reasons[stream, default: []].append(error)
            }
            for testCase in cases {
                let key = testCase.stream == "stock-H12" ? "nocategory" : testCase.stream
                guard let reason = testCase.reason else {
                    #expect(reasons[key] == nil, "\(testCase.name): must be ignored, was parked: \(reasons[key] ?? [])")
                    continue
                }
                let found = reasons[key] ?? []
                #expect(found.count == 1, "\(testCase.name): one dead letter, even when delivered twice; found \(found)")
                #expect(found.allSatisfy { $0.contains(reason) }, "\(testCase.name): the reason must say '\(reason)'; it says \(found)")
            }
            #expect(reasons["stock-OK"] == nil)
            let rows = try await client.query("SELECT sku FROM read_models.stock_levels ORDER BY sku", logger: testLogger("q")).collect()
                .map { try $0.decode(String.self) }
            #expect(rows == ["OK"], "only the valid event's row is written; found \(rows)")
            running.cancel()
            _ = try? await running.value
            await producer.close()
        }
    }
}

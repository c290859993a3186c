import CheckoutSuite
import Checkout
import EventSourcing
import EventStore
import Foundation
import Kafka
import PostgresNIO
import SuiteTesting
import Testing

@Suite("Outbox relay")
struct OutboxRelayTests {
    static let topics = CheckoutNames.Topics.events

    private func relay(
        _ store: PostgresEventStore, _ producer: KafkaProducer, batchSize: Int, idleInterval: Duration = .milliseconds(10)
    ) -> OutboxRelay {
        var configuration = OutboxRelay.Configuration()
        configuration.batchSize = batchSize
        configuration.idleInterval = idleInterval
        configuration.standbyInterval = .milliseconds(100)
        return OutboxRelay(client: store.client, producer: producer, logger: testLogger("relay"), configuration: configuration)
    }

    private func count(_ store: PostgresEventStore, _ condition: String) async throws -> Int {
        try await store.client.query("SELECT count(*)::int8 FROM event_store.outbox WHERE \(unescaped: condition)", logger: testLogger("q"))
            .collect().first.map { Int(try $0.decode(Int64.self)) } ?? -1
    }

    /// The backend of the leading relay's connection (it names itself after its role).
    private func relayBackend(_ store: PostgresEventStore) async throws -> Int32? {
        try await store.client.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'outbox relay' AND datname = current_database()", logger: testLogger("q")
        ).collect().first?.decode(Int32.self)
    }

    @Test("relay killed mid-publish: after it recovers every event is on Kafka in per-stream order")
    func survivesKilledConnection() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all)
        for broker in 1...3 { try kafka.cluster.setBrokerLatency(Int32(broker), milliseconds: 20) }
        try await withEventStore { store in
            let streams = (0..<100).map { index in index % 2 == 0 ? Order.stream("o-\(index)") : Stock.stream("SKU-\(index)") }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for stream in streams {
                    group.addTask {
                        for chunk in 0..<5 {
                            _ = try await store.append(
                                to: stream, expected: .exact(Int64(chunk * 10)),
                                events: (0..<10).map { event("Noted", "{\"n\":\(chunk * 10 + $0 + 1)}") })
                        }
                    }
                }
                try await group.waitForAll()
            }
            let total = streams.count * 50
            let producer = try kafka.producer()
            let running = Task { try await relay(store, producer, batchSize: 50).run() }

            try await waitUntil("some events published", timeout: .seconds(60)) { try await count(store, "published_at IS NOT NULL") >= 500 }
            let victim = try #require(try await relayBackend(store))
            _ = try await store.client.query("SELECT pg_terminate_backend(\(victim))", logger: testLogger("q")).collect()
            try await waitUntil("the relay to come back on a new connection", timeout: .seconds(30)) {
                let holder = try await relayBackend(store)
                return holder != nil && holder != victim
            }
            try await waitUntil("every event published", timeout: .seconds(120)) { try await count(store, "published_at IS NULL") == 0 }
            running.cancel()
            await producer.close()

            let records = try await kafka.readAll(Self.topics) { records in
                Set(records.map { "\($0.keyString ?? "")@\($0.headers.string("stream-version") ?? "")" }).count >= total
            }
            var seen: [String: [Int64]] = [:]
            for record in records {
                let envelope = try EventKafkaMapping.event(from: record)
                #expect(record.keyString == envelope.streamID, "the key is the stream id")
                seen[envelope.streamID, default: []].append(envelope.streamVersion)
            }
            #expect(seen.count == streams.count)
            for (stream, versions) in seen {
                var highest: Int64 = 0
                var firsts: [Int64] = []
                for version in versions {
                    #expect(version <= highest + 1, "stream \(stream) jumped from \(highest) to \(version)")
                    if version == highest + 1 { firsts.append(version) }
                    highest = max(highest, version)
                }
                #expect(firsts == Array(1...50), "stream \(stream) is missing versions")
            }
            #expect(records.count >= total)
        }
    }

    @Test("a transaction that took a lower position but commits later is published, not skipped")
    func publishesLateCommits() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all)
        try await withEventStore { store in
            let (slowCommit, release) = AsyncStream<Void>.makeStream()
            let (positionTaken, announce) = AsyncStream<Void>.makeStream()
            let slow = Task {
                try await store.client.withConnection { connection in
                    _ = try await connection.query("BEGIN", logger: testLogger("slow")).collect()
                    // An append as the store writes one: positions first, then the rows.
                    let position = try await connection.query("SELECT event_store.reserve_positions(1)", logger: testLogger("slow"))
                        .collect().first?.decode(Int64.self) ?? 0
                    _ = try await connection.query(
                        """
                        WITH stream AS (
                            INSERT INTO event_store.streams (stream_id, stream_type, version) VALUES ('order-slow', 'order', 1)
                        ), inserted AS (
                            INSERT INTO event_store.events (global_position, event_id, stream_id, stream_type, stream_version, event_type, schema_version, payload, correlation_id)
                            VALUES (\(position), gen_random_uuid(), 'order-slow', 'order', 1, 'Noted', 1, '{"slow":true}', 'c') RETURNING global_position
                        )
                        INSERT INTO event_store.outbox (global_position, stream_id, topic)
                        SELECT global_position, 'order-slow', 'checkout.orders.events' FROM inserted
                        """, logger: testLogger("slow")
                    ).collect()
                    announce.yield()
                    for await _ in slowCommit { break }
                    _ = try await connection.query("COMMIT", logger: testLogger("slow")).collect()
                }
            }
            for await _ in positionTaken { break }
            let fast = try await store.append(to: Order.stream("fast"), expected: .noStream, events: [event("Noted", "{\"fast\":true}")])
            let fastPosition = try #require(fast.appended?.events.first?.globalPosition)

            #expect(try await store.readAll(after: 0).isEmpty, "the global log must wait for the open transaction")
            let producer = try kafka.producer()
            let running = Task { try await relay(store, producer, batchSize: 10).run() }
            try await waitUntil("the fast event published", timeout: .seconds(30)) {
                try await count(store, "global_position = \(fastPosition) AND published_at IS NOT NULL") == 1
            }
            release.yield()
            try await slow.value
            try await waitUntil("the slow event published", timeout: .seconds(30)) { try await count(store, "published_at IS NULL") == 0 }
            running.cancel()
            await producer.close()

            let all = try await store.readAll(after: 0)
            #expect(all.map(\.streamID) == ["order-slow", "order-fast"], "position order, both present")
            let records = try await kafka.readAll([CheckoutNames.Topics.orderEvents]) { $0.count >= 2 }
            #expect(Set(records.compactMap(\.keyString)) == ["order-slow", "order-fast"])
        }
    }

    @Test("a stream whose event Kafka refuses never has a later event published ahead of it; other streams go on")
    func refusedEventHoldsItsStreamInOrder() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 1)
        try await withEventStore { store in
            // Under the store's limit, over this producer's: refused at enqueue, every time.
            let big = #"{"blob":"\#(String(repeating: "x", count: 20_000))"}"#
            _ = try await store.append(to: Order.stream("held"), expected: .noStream, events: [event("Noted", big), event("Noted", #"{"n":2}"#)])
            _ = try await store.append(to: Order.stream("free"), expected: .noStream, events: [event("Noted", #"{"n":1}"#)])
            let producer = try kafka.producer(["message.max.bytes": "10000"])
            let running = Task { try await relay(store, producer, batchSize: 10).run() }
            try await waitUntil("the other stream published", timeout: .seconds(30)) {
                try await count(store, "stream_id = 'order-free' AND published_at IS NOT NULL") == 1
            }
            // order-free was in the same send as both events of order-held.
            running.cancel()
            _ = try? await running.value
            await producer.close()
            let records = try await kafka.readAll([CheckoutNames.Topics.orderEvents]) { !$0.isEmpty }
            #expect(records.compactMap(\.keyString) == ["order-free"], "order-held's v2 must not be published ahead of its v1")
            #expect(try await count(store, "stream_id = 'order-held' AND published_at IS NULL") == 2)
        }
    }

    @Test("a committed append wakes the idle relay: published long before its safety-net poll")
    func committedAppendWakesTheRelay() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all)
        try await withEventStore { store in
            let producer = try kafka.producer()
            // The poll is an hour away: only the appending process's doorbell can wake it.
            let running = Task { try await relay(store, producer, batchSize: 50, idleInterval: .seconds(3_600)).run() }
            try await waitUntil("the relay to lead", timeout: .seconds(30)) { try await relayBackend(store) != nil }
            for round in 1...3 {
                // Let the relay go idle, then append: each append must be published promptly.
                try await Task.sleep(for: .milliseconds(300))
                _ = try await store.append(to: Order.stream("woken-\(round)"), expected: .noStream, events: [event("Noted", #"{"n":1}"#)])
                try await waitUntil("append \(round) published without a poll", timeout: .seconds(15)) {
                    try await count(store, "published_at IS NULL") == 0
                }
            }
            running.cancel()
            await producer.close()
        }
    }
}

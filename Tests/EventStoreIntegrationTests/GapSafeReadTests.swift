import CheckoutSuite
import Checkout
import EventSourcing
import EventStore
import Foundation
import Kafka
import PostgresNIO
import SuiteTesting
import Testing

/// The global log read by position (`readAll`, which rebuilds use) and the relay must never
/// skip an event whose transaction commits after a higher position became visible, whatever
/// the order in which transactions took their ids and their positions.
@Suite("Gap-safe reads of the global log")
struct GapSafeReadTests {
    @Test("an append that took its transaction id first but inserts last is read, not skipped (readAll and the relay)")
    func earlierTransactionLaterPosition() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all)
        try await withEventStore { store in
            let client = store.client
            try await installInsertPause(client)
            _ = try await store.append(to: Order.stream("slow"), expected: .noStream, events: [event("Noted", #"{"n":0}"#)])
            var readSoFar = try await store.readAll(after: 0)
            var cursor = readSoFar.last?.globalPosition ?? 0

            // C holds order-slow's row: an append to it takes its transaction id, then waits.
            let (rowReleased, releaseRow) = AsyncStream<Void>.makeStream()
            let rowHolder = holdConnection(
                client, ["BEGIN", "SELECT version FROM event_store.streams WHERE stream_id = 'order-slow' FOR UPDATE"],
                until: rowReleased, end: "COMMIT")
            // L holds advisory lock 42: an append to order-paused inserts its events, then waits.
            let (pauseReleased, releasePause) = AsyncStream<Void>.makeStream()
            let pauseHolder = holdConnection(client, ["SELECT pg_advisory_lock(42)"], until: pauseReleased, end: "SELECT pg_advisory_unlock(42)")
            try await waitUntil("the row and the advisory lock held", timeout: .seconds(10)) {
                try await client.query(
                    """
                    SELECT count(*)::int8 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                    WHERE a.datname = current_database() AND l.granted AND (l.locktype = 'advisory' OR l.locktype = 'transactionid')
                    """, logger: testLogger("q")
                ).collect().first.map { try $0.decode(Int64.self) } ?? 0 >= 2
            }

            // T1: takes its transaction id first, blocks on the row.
            let first = Task { try await store.append(to: Order.stream("slow"), expected: .exact(1), events: [event("Noted", #"{"n":1}"#)]) }
            try await waitUntil("T1 waiting on the stream row", timeout: .seconds(10)) { try await waitingBackends(client) == 1 }
            // T2: a later transaction id, inserts, stays open.
            let second = Task { try await store.append(to: Order.stream("paused"), expected: .noStream, events: [event("Noted", #"{"n":2}"#)]) }
            try await waitUntil("T2 paused after its insert", timeout: .seconds(10)) { try await waitingBackends(client) == 2 }
            // T1 goes on and commits while T2 is still open.
            releaseRow.yield()
            try await rowHolder.value
            let firstResult = try await first.value
            let firstPosition = try #require(firstResult.appended?.events.first?.globalPosition)

            // Relay and global log read now, with T2 open.
            let producer = try kafka.producer()
            var relayConfiguration = OutboxRelay.Configuration()
            relayConfiguration.idleInterval = .milliseconds(10)
            let relay = Task {
                try await OutboxRelay(client: client, producer: producer, logger: testLogger("relay"), configuration: relayConfiguration).run()
            }
            let midway = try await store.readAll(after: cursor)
            readSoFar += midway
            cursor = midway.last?.globalPosition ?? cursor

            releasePause.yield()
            try await pauseHolder.value
            let secondResult = try await second.value
            let secondPosition = try #require(secondResult.appended?.events.first?.globalPosition)
            // Reading on from the cursor until all three are there: a transaction open elsewhere
            // on the server (another test's database) holds the visibility horizon back for a while.
            try await waitUntil("reading on from the cursor returns the rest", timeout: .seconds(30)) {
                let more = try await store.readAll(after: cursor)
                readSoFar += more
                cursor = more.last?.globalPosition ?? cursor
                return readSoFar.count >= 3
            }

            let committed = try await store.readAll(after: 0).map(\.globalPosition)
            #expect(committed.count == 3)
            #expect(
                readSoFar.map(\.globalPosition) == committed,
                "reading on from the cursor must return every committed event once, in position order (T1 at \(firstPosition), T2 at \(secondPosition))")

            let records = try await kafka.readAll([CheckoutNames.Topics.orderEvents]) { records in
                Set(records.compactMap { $0.headers.string("global-position") }).count >= 3
            }
            relay.cancel()
            _ = try? await relay.value
            await producer.close()
            #expect(Set(records.compactMap { $0.headers.string("global-position").flatMap(Int64.init) }) == Set(committed))
        }
    }
}

import CheckoutSuite
import CheckoutReadModels
import EventSourcing
import Foundation
import Kafka
import PostgresNIO
import Projections
import SuiteTesting
import Testing

@Suite("Poison events and dead letters")
struct PoisonEventTests {
    @Test("a failing event parks its stream's later events behind it; other streams go on; replay applies them in order")
    func parksBehindAndReplays() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 4)
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            let faults = FaultSwitch()
            faults.set(stream: "stock-A", failing: true)
            let projections: [any Projection] = [FaultInjectingProjection(StockLevelsProjection(), faults: faults)]
            let producer = try kafka.producer()
            try await publish(TestEvents.restocks(sku: "A", count: 3) + TestEvents.restocks(sku: "B", count: 4), to: kafka, producer: producer)

            let running = Task { try await processor(projections, client: client, kafka: kafka, instance: "p1").run() }
            try await waitUntil("B applied and A parked", timeout: .seconds(60)) {
                let applied = try await scalar(client, "SELECT coalesce(sum(on_hand), 0)::int8 FROM read_models.stock_levels WHERE sku = 'B'")
                let parked = try await scalar(client, "SELECT count(*)::int8 FROM read_models.dead_letters WHERE stream_id = 'stock-A'")
                return applied == 10 && parked == 3
            }
            let store = DeadLetterStore(client: client, logger: testLogger("dl"), projections: projections)
            let parked = try await store.list(.init(stream: "stock-A"))
            #expect(parked.map(\.streamVersion) == [1, 2, 3])
            #expect(parked.first?.attempts == 3 && parked.first?.blockedBy == nil)
            #expect(parked.dropFirst().allSatisfy { $0.blockedBy == parked.first?.id }, "later events wait behind the first")
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.stock_levels WHERE sku = 'A'") == 0)

            // A new event of A arrives while A is parked: it is parked too, in order.
            try await publish([TestEvents.record(stream: "stock-A", streamType: "stock", version: 4, type: "StockRestocked", payload: #"{"sku":"A","quantity":4}"#)], to: kafka, producer: producer)
            try await waitUntil("the new event parked behind", timeout: .seconds(30)) {
                try await scalar(client, "SELECT count(*)::int8 FROM read_models.dead_letters WHERE stream_id = 'stock-A'") == 4
            }

            // Replay while still broken re-parks from the failing event.
            let failed = try await store.replay(projection: "stock-levels", stream: "stock-A", operator: "test")
            #expect(failed.replayed == 0 && failed.failure != nil && failed.stillParked == 4)

            faults.set(stream: "stock-A", failing: false)
            let report = try await store.replay(projection: "stock-levels", stream: "stock-A", operator: "test", chunk: 2)
            #expect(report.replayed == 4 && report.failure == nil && report.stillParked == 0)
            #expect(try await scalar(client, "SELECT on_hand FROM read_models.stock_levels WHERE sku = 'A'") == 10)
            #expect(try await scalar(client, "SELECT version FROM read_models.stream_positions WHERE projection = 'stock-levels' AND stream_id = 'stock-A'") == 4)

            // After the replay, A flows normally again.
            try await publish([TestEvents.record(stream: "stock-A", streamType: "stock", version: 5, type: "StockRestocked", payload: #"{"sku":"A","quantity":5}"#)], to: kafka, producer: producer)
            try await waitUntil("A's next event applied live", timeout: .seconds(30)) {
                try await scalar(client, "SELECT on_hand FROM read_models.stock_levels WHERE sku = 'A'") == 15
            }
            running.cancel()
            _ = try? await running.value
            await producer.close()
        }
    }

    @Test("skipping a dead letter records who and why, and the event is never applied")
    func skipRecordsReason() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 2)
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            let faults = FaultSwitch()
            faults.set(stream: "stock-S", failing: true)
            let projections: [any Projection] = [FaultInjectingProjection(StockLevelsProjection(), faults: faults)]
            let producer = try kafka.producer()
            try await publish(TestEvents.restocks(sku: "S", count: 2), to: kafka, producer: producer)
            let running = Task { try await processor(projections, client: client, kafka: kafka, instance: "p1").run() }
            try await waitUntil("S parked", timeout: .seconds(60)) {
                try await scalar(client, "SELECT count(*)::int8 FROM read_models.dead_letters WHERE stream_id = 'stock-S'") == 2
            }
            running.cancel()
            _ = try? await running.value
            await producer.close()
            let store = DeadLetterStore(client: client, logger: testLogger("dl"), projections: projections)
            let head = try #require(try await store.list(.init(stream: "stock-S")).first)
            await #expect(throws: DeadLetterError.self) { _ = try await store.skip(head.id, reason: "  ", operator: "ops") }
            let skipped = try await store.skip(head.id, reason: "bad data from the 3 a.m. import", operator: "ops@example")
            #expect(skipped.status == "skipped" && skipped.resolvedBy == "ops@example" && skipped.resolution == "bad data from the 3 a.m. import")
            faults.set(stream: "stock-S", failing: false)
            let report = try await store.replay(projection: "stock-levels", stream: "stock-S", operator: "ops")
            #expect(report.replayed == 1)
            #expect(try await scalar(client, "SELECT on_hand FROM read_models.stock_levels WHERE sku = 'S'") == 2, "only version 2 applied")
        }
    }

    @Test("replay applies a stream's parked events in stream order, in chunks, then live events follow (checked by the order applied)")
    func replayInOrder() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 2)
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            try await RecordingProjection.createTable(client)
            let faults = FaultSwitch()
            faults.set(stream: "stock-R", failing: true)
            let projections: [any Projection] = [FaultInjectingProjection(RecordingProjection(), faults: faults)]
            let producer = try kafka.producer()
            try await publish(TestEvents.restocks(sku: "R", count: 5), to: kafka, producer: producer)
            let running = Task { try await processor(projections, client: client, kafka: kafka, instance: "p1").run() }
            try await waitUntil("R parked", timeout: .seconds(60)) {
                try await scalar(client, "SELECT count(*)::int8 FROM read_models.dead_letters WHERE stream_id = 'stock-R'") == 5
            }
            #expect(try await RecordingProjection.applied(client, stream: "stock-R").isEmpty)
            faults.set(stream: "stock-R", failing: false)
            let store = DeadLetterStore(client: client, logger: testLogger("dl"), projections: projections)
            let report = try await store.replay(projection: "applied-log", stream: "stock-R", operator: "test", chunk: 2)
            #expect(report.replayed == 5 && report.stillParked == 0)
            #expect(try await RecordingProjection.applied(client, stream: "stock-R") == [1, 2, 3, 4, 5], "in stream order, each once")

            try await publish(
                [TestEvents.record(stream: "stock-R", streamType: "stock", version: 6, type: "StockRestocked", payload: #"{"sku":"R","quantity":6}"#)],
                to: kafka, producer: producer)
            try await waitUntil("R's next event applied live", timeout: .seconds(30)) {
                try await RecordingProjection.applied(client, stream: "stock-R").count == 6
            }
            #expect(try await RecordingProjection.applied(client, stream: "stock-R") == [1, 2, 3, 4, 5, 6])
            running.cancel()
            _ = try? await running.value
            await producer.close()
        }
    }

    /// A stream with nothing applied yet (the replay inserts its position row) and one with an
    /// event applied before (the replay locks the existing row).
    @Test(
        "a live batch of a stream's later event while a replay of its parked events holds the stream: it waits, then applies after them; nothing left parked",
        arguments: [0, 1])
    func liveBatchDuringReplay(appliedBefore: Int) async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 2)
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            try await RecordingProjection.createTable(client)
            let faults = FaultSwitch()
            let projections: [any Projection] = [FaultInjectingProjection(RecordingProjection(), faults: faults)]
            let producer = try kafka.producer()
            let events = TestEvents.restocks(sku: "V", count: appliedBefore + 3)
            let running = Task { try await processor(projections, client: client, kafka: kafka, instance: "p1").run() }
            if appliedBefore > 0 {
                try await publish(Array(events.prefix(appliedBefore)), to: kafka, producer: producer)
                try await waitUntil("the first applied", timeout: .seconds(60)) {
                    try await RecordingProjection.applied(client, stream: "stock-V").count == appliedBefore
                }
            }
            faults.set(stream: "stock-V", failing: true)
            try await publish(Array(events[appliedBefore..<(appliedBefore + 2)]), to: kafka, producer: producer)
            try await waitUntil("two parked", timeout: .seconds(60)) {
                try await scalar(client, "SELECT count(*)::int8 FROM read_models.dead_letters WHERE stream_id = 'stock-V'") == 2
            }
            faults.set(stream: "stock-V", failing: false)
            var store = DeadLetterStore(client: client, logger: testLogger("dl"), projections: projections)
            let once = TestCounter()
            let last = events[appliedBefore + 2]
            // Inside the replay's first chunk, after it read the parked letters: the stream's next
            // event arrives live. Its batch must wait at the stream's position row (where the
            // replay holds the stream), before it reads anything it decides on. Go on once it
            // does, or once it parked the event (the bug: behind letters about to be replayed).
            store.afterReadingParked = {
                once.increment()
                guard once.value == 1 else { return }
                try await publish([last], to: kafka, producer: producer)
                try await waitUntil("the live batch waits for the replay at the stream's position, or parked the event", timeout: .seconds(20)) {
                    let waiting = try await scalar(
                        client,
                        """
                        SELECT count(*)::int8 FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%read_models.stream_positions%'
                        """)
                    let parked = try await scalar(
                        client, "SELECT count(*)::int8 FROM read_models.dead_letters WHERE stream_id = 'stock-V' AND stream_version = \(last.streamVersion)")
                    return waiting > 0 || parked > 0
                }
            }
            let report = try await store.replay(projection: "applied-log", stream: "stock-V", operator: "test")
            #expect(report.appliedVersions == [Int64(appliedBefore) + 1, Int64(appliedBefore) + 2])
            try await waitUntil("the live batch done", timeout: .seconds(30)) {
                let parked = try await scalar(
                    client, "SELECT count(*)::int8 FROM read_models.dead_letters WHERE stream_id = 'stock-V' AND stream_version = \(last.streamVersion)")
                let applied = try await RecordingProjection.applied(client, stream: "stock-V")
                return parked > 0 || applied.count == appliedBefore + 3
            }
            #expect(
                try await RecordingProjection.applied(client, stream: "stock-V") == Array(1...Int64(appliedBefore + 3)),
                "the live event applied after the replayed ones")
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.dead_letters WHERE status = 'parked'") == 0, "nothing parked behind replayed letters")
            running.cancel()
            _ = try? await running.value
            await producer.close()
        }
    }
}

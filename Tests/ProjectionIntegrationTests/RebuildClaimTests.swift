import Checkout
import CheckoutReadModels
import CheckoutSuite
import EventSourcing
import EventStore
import Foundation
import PostgresNIO
import Projections
import SuiteTesting
import Testing

/// A rebuild is exclusive per projection across instances (issue 22): two rebuilds share the
/// `__rebuild` tables, and a second one would drop or mix the first's.
@Suite("Projection rebuild claims")
struct RebuildClaimTests {
    private func restock(_ store: PostgresEventStore, sku: String, count: Int) async throws {
        let events = (0..<count).map { _ in
            NewEvent(
                encoded: EncodedEvent(type: "StockRestocked", schemaVersion: 1, payload: Array("{\"sku\":\"\(sku)\",\"quantity\":1}".utf8)),
                correlationID: "claim-test")
        }
        _ = try await store.append(to: Stock.stream(sku), expected: .exact(0), events: events)
    }

    @Test("two rebuilds of one projection at once: the second is refused naming the first; the swapped model equals a fresh build; a crashed rebuild's claim expires")
    func secondRebuildRefused() async throws {
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            try await migrateReadModels(client)
            for index in 0..<30 { try await restock(store, sku: "SKU-\(index)", count: 3) }

            let secondTried = TestCounter()
            var first = ProjectionRebuilder(projection: StockLevelsProjection(), store: store, logger: testLogger("first"))
            first.owner = "first"
            first.chunk = 10
            // The first waits before its swap until the second has tried: they overlap for certain.
            first.beforeSwap = {
                try await waitUntil("the second rebuild tried", timeout: .seconds(60)) { secondTried.value > 0 }
            }
            var second = ProjectionRebuilder(projection: StockLevelsProjection(), store: store, logger: testLogger("second"))
            second.owner = "second"
            let firstRebuild = first
            let running = Task { try await firstRebuild.rebuild() }
            try await waitUntil("the first rebuild holds the claim", timeout: .seconds(30)) {
                try await scalar(client, "SELECT count(*)::int8 FROM read_models.rebuilds WHERE owner = 'first' AND status = 'running'") == 1
            }
            var refusal: RebuildInProgress?
            var otherFailure: (any Error)?
            do {
                _ = try await second.rebuild()
            } catch let refused as RebuildInProgress {
                refusal = refused
            } catch {
                otherFailure = error
            }
            secondTried.increment()
            let report = try await running.value
            #expect(refusal?.owner == "first", "the second rebuild must be refused naming the first; it ended \(otherFailure.map { "\($0)" } ?? "without refusal")")
            #expect(report.eventsApplied == 90)
            let claim = try await client.query(
                "SELECT owner, status FROM read_models.rebuilds WHERE projection = 'stock-levels'", logger: testLogger("q")
            ).collect().first?.decode((String, String).self)
            #expect(claim?.0 == "first" && claim?.1 == "swapped", "\(String(describing: claim))")
            let differences = try await ProjectionRebuilder(projection: StockLevelsProjection(), store: store, logger: testLogger("verify")).differences()
            #expect(differences.allSatisfy { $0.rows == 0 }, "the swapped model differs from a fresh build: \(differences.map(\.sample))")
            #expect(try await scalar(client, "SELECT sum(on_hand)::int8 FROM read_models.stock_levels") == 90)

            // A rebuild that crashed (its heartbeat stopped long ago) does not block for ever.
            _ = try await client.query(
                "UPDATE read_models.rebuilds SET status = 'running', owner = 'crashed', heartbeat_at = now() - interval '10 minutes'",
                logger: testLogger("q")
            ).collect()
            second.owner = "after-crash"
            _ = try await second.rebuild()
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.rebuilds WHERE owner = 'after-crash' AND status = 'swapped'") == 1)
        }
    }

    @Test("a rebuild whose claim was taken over while it was paused writes nothing more into the shadow tables when it resumes (issue 22)")
    func resumedStaleRebuildStops() async throws {
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            try await migrateReadModels(client)
            for index in 0..<30 { try await restock(store, sku: "SKU-\(index)", count: 3) }
            let shadowRows = TestCounter()
            var stale = ProjectionRebuilder(projection: StockLevelsProjection(), store: store, logger: testLogger("stale"))
            stale.owner = "stale"
            stale.chunk = 10
            // After its second chunk the rebuild "pauses" past its claim's expiry and a successor
            // takes the projection over (as `claim()` does with an expired heartbeat).
            stale.afterChunk = { written in
                guard written == 2 else { return }
                _ = try await client.query("UPDATE read_models.rebuilds SET owner = 'successor', heartbeat_at = now()", logger: testLogger("q")).collect()
                shadowRows.increment(by: Int(try await scalar(client, "SELECT sum(on_hand)::int8 FROM read_models.stock_levels__rebuild")))
            }
            do {
                _ = try await stale.rebuild()
                Issue.record("the stale rebuild swapped")
            } catch {
                // Thrown inside a chunk's transaction, it comes wrapped.
                let cause = (error as? PostgresTransactionError)?.closureError ?? error
                #expect(cause is RebuildClaimLost, "the stale rebuild failed otherwise: \(error)")
            }
            #expect(shadowRows.value > 0, "the takeover happened mid-load")
            #expect(
                try await scalar(client, "SELECT coalesce(sum(on_hand), 0)::int8 FROM read_models.stock_levels__rebuild") == Int64(shadowRows.value),
                "chunks written after the takeover")
            #expect(try await scalar(client, "SELECT count(*)::int8 FROM read_models.rebuilds WHERE owner = 'successor' AND status = 'running'") == 1)
        }
    }
}

import Checkout
import EventSourcing
import EventStore
import Foundation
import MetricsTestKit
import PostgresNIO
import SuiteTesting
import Testing

/// Snapshots only save reading: a state loaded from one must equal the full replay, also for
/// states with reservations and settled orders, and an unreadable one must be seen.
@Suite("Snapshots")
struct SnapshotTests {
    /// A stock stream of 40 events: restocks, reservations, releases, commits and refusals.
    private func busyStream(_ handler: CommandHandler<StockCommand, StockState, StockEvent>, _ stream: StreamName) async throws {
        let context = CommandContext(correlationID: "c")
        _ = try await handler.handle(.restock(quantity: 20), on: stream, context: context)
        for index in 0..<13 {
            _ = try await handler.handle(.reserve(orderID: "o-\(index)", quantity: 2), on: stream, context: context)
            switch index % 3 {
            case 0: _ = try await handler.handle(.release(orderID: "o-\(index)"), on: stream, context: context)
            case 1: _ = try await handler.handle(.commit(orderID: "o-\(index)"), on: stream, context: context)
            default: break
            }
        }
        // Out of stock by now: refused, and settled.
        _ = try await handler.handle(.reserve(orderID: "o-big", quantity: 50), on: stream, context: context)
    }

    private func snapshotVersion(_ store: PostgresEventStore, _ stream: StreamName) async throws -> Int64? {
        try await store.loadSnapshot(of: stream.description)?.version
    }

    @Test("a state with reservations and settled orders loads from its snapshot exactly as from a full replay, and the snapshot is used")
    func snapshotEqualsReplay() async throws {
        try await withEventStore { store in
            let stream = Stock.stream("SKU-SNAP")
            let snapshotting = CommandHandler(decider: Stock.decider(sku: "SKU-SNAP"), codec: Stock.codec, store: store, snapshotEvery: 10)
            let plain = CommandHandler(decider: Stock.decider(sku: "SKU-SNAP"), codec: Stock.codec, store: store)
            try await busyStream(snapshotting, stream)
            let replayed = try await plain.load(stream)
            let snapshotAt = try #require(try await snapshotVersion(store, stream))
            #expect(snapshotAt >= 20 && snapshotAt < replayed.version, "a snapshot with a tail after it")
            #expect(!replayed.state.reservations.isEmpty && !replayed.state.settledOrders.isEmpty, "the state the test is about")
            let loaded = try await snapshotting.load(stream)
            #expect(loaded.version == replayed.version)
            #expect(loaded.state == replayed.state)

            // The snapshot is what was read: a changed snapshot changes the loaded state.
            _ = try await store.client.query(
                "UPDATE event_store.snapshots SET state = jsonb_set(state, '{onHand}', '999') WHERE stream_id = \(stream.description)",
                logger: testLogger("q")
            ).collect()
            #expect(try await snapshotting.load(stream).state != replayed.state)
        }
    }

    @Test("a stock snapshot from before RecentOrders (state schema 1) is ignored: the stream is read instead (issue 22)")
    func snapshotsOfAnOlderStateSchemaAreIgnored() async throws {
        try await withEventStore { store in
            let stream = Stock.stream("SKU-OLD-SNAP")
            let handler = CommandHandler(
                decider: Stock.decider(sku: "SKU-OLD-SNAP"), codec: Stock.codec, store: store, snapshotEvery: Stock.snapshotEvery,
                stateSchema: Stock.stateSchema)
            try await busyStream(handler, stream)
            let replayed = try await CommandHandler(decider: Stock.decider(sku: "SKU-OLD-SNAP"), codec: Stock.codec, store: store).load(stream)
            // What the code before RecentOrders wrote: the settled orders as a set, in no order,
            // under the state schema it had (1), at the stream's head.
            _ = try await store.client.query(
                """
                INSERT INTO event_store.snapshots (stream_id, stream_type, version, state_schema, state)
                VALUES (\(stream.description), 'stock', \(replayed.version), 1,
                        '{"onHand": 999, "reservations": {}, "settledOrders": ["o-2", "o-0", "o-1"]}'::jsonb)
                ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, state_schema = 1, state = EXCLUDED.state
                """, logger: testLogger("q")
            ).collect()
            #expect(try await handler.load(stream).state == replayed.state)
        }
    }

    @Test("a snapshot that cannot be decoded is counted and logged; the stream still loads from its events")
    func unreadableSnapshotIsSeen() async throws {
        try await withEventStore { store in
            let stream = Stock.stream("SKU-BAD")
            let metrics = TestMetrics()
            let snapshotting = CommandHandler(
                decider: Stock.decider(sku: "SKU-BAD"), codec: Stock.codec, store: store, snapshotEvery: 10, metrics: metrics)
            try await busyStream(snapshotting, stream)
            let replayed = try await CommandHandler(decider: Stock.decider(sku: "SKU-BAD"), codec: Stock.codec, store: store).load(stream)
            _ = try await store.client.query(
                #"UPDATE event_store.snapshots SET state = '{"onHand":"lots"}' WHERE stream_id = \#(stream.description)"#,
                logger: testLogger("q")
            ).collect()
            let loaded = try await snapshotting.load(stream)
            #expect(loaded.state == replayed.state && loaded.version == replayed.version)
            let unreadable = try metrics.expectCounter("snapshots_unreadable_total", [("stream_type", "stock")])
            #expect(unreadable.totalValue == 1)
        }
    }
}

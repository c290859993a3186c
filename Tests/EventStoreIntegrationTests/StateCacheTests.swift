import Checkout
import EventSourcing
import EventStore
import Foundation
import MetricsTestKit
import SuiteTesting
import Testing

/// The command side's state cache saves reading a stream that was just decided, and is only a
/// hint: a state another writer moved past is caught by the append's expected version, and a
/// refusal is never decided on a cached state alone.
@Suite("Command-side state cache")
struct StateCacheTests {
    private func reads(_ metrics: TestMetrics) throws -> Int64 {
        try metrics.expectCounter("command_stream_reads_total", [("stream_type", "stock")]).values.reduce(0, +)
    }

    @Test("a command on a stream decided a moment ago does not read it again")
    func cachedStreamIsNotRead() async throws {
        try await withEventStore { store in
            let metrics = TestMetrics()
            let cache = StreamStateCache()
            let handler = CommandHandler(decider: Stock.decider(sku: "SKU-C1"), codec: Stock.codec, store: store, metrics: metrics, cache: cache)
            let stream = Stock.stream("SKU-C1")
            let context = CommandContext(correlationID: "c")
            _ = try await handler.handle(.restock(quantity: 10), on: stream, context: context)
            for order in 1...5 { _ = try await handler.handle(.reserve(orderID: "o-\(order)", quantity: 1), on: stream, context: context) }
            #expect(try reads(metrics) == 1, "only the first command read the stream")
            let (state, version) = try await handler.load(stream)
            #expect(cache.state(of: stream.description, as: StockState.self)?.version == version)
            #expect(cache.state(of: stream.description, as: StockState.self)?.state.onHand == state.onHand)
        }
    }

    @Test("a repeated command id (a saga's resend) is answered from the command log: the stream is not read again, the cache stays")
    func repeatIsAnsweredFromTheLog() async throws {
        try await withEventStore { store in
            let metrics = TestMetrics()
            let cache = StreamStateCache()
            let handler = CommandHandler(decider: Stock.decider(sku: "SKU-C4"), codec: Stock.codec, store: store, metrics: metrics, cache: cache)
            let stream = Stock.stream("SKU-C4")
            _ = try await handler.handle(.restock(quantity: 10), on: stream, context: CommandContext(correlationID: "c"))
            let reserve = CommandContext(commandID: "saga:o-1:reserve:SKU-C4", correlationID: "o-1")
            guard case .appended = try await handler.handle(.reserve(orderID: "o-1", quantity: 2), on: stream, context: reserve) else {
                Issue.record("the first reservation appended nothing")
                return
            }
            for _ in 1...3 {
                guard case .duplicate = try await handler.handle(.reserve(orderID: "o-1", quantity: 2), on: stream, context: reserve) else {
                    Issue.record("a resend was not answered as a duplicate")
                    return
                }
            }
            _ = try await handler.handle(.reserve(orderID: "o-2", quantity: 1), on: stream, context: CommandContext(commandID: "saga:o-2", correlationID: "o-2"))
            #expect(try reads(metrics) == 1, "resends and the command after them decided without reading the stream")
            #expect(try await handler.load(stream).state.reservations == ["o-1": 2, "o-2": 1])
        }
    }

    @Test("another writer moved the stream: the stale cached state conflicts, is read again, and nothing is oversold")
    func staleStateIsCaughtByTheExpectedVersion() async throws {
        try await withEventStore { store in
            let stream = Stock.stream("SKU-C2")
            let context = CommandContext(correlationID: "c")
            let cache = StreamStateCache()
            let cached = CommandHandler(decider: Stock.decider(sku: "SKU-C2"), codec: Stock.codec, store: store, cache: cache)
            let other = CommandHandler(decider: Stock.decider(sku: "SKU-C2"), codec: Stock.codec, store: store)
            _ = try await cached.handle(.restock(quantity: 5), on: stream, context: context)
            // Another instance takes all five behind the cache's back.
            _ = try await other.handle(.reserve(orderID: "other", quantity: 5), on: stream, context: context)
            // The cache still says 5 on hand: the decision is checked by the append and redone.
            _ = try await cached.handle(.reserve(orderID: "mine", quantity: 5), on: stream, context: context)
            let (state, _) = try await other.load(stream)
            #expect(state.reservations == ["other": 5], "one reservation of the 5 on hand, never two")
            let events = try await store.readStream(stream.description)
            let reservedOrders = try events.compactMap { event -> String? in
                if case .reserved(let reserved) = try Stock.codec.decode(event.encoded) { return reserved.orderId }
                return nil
            }
            #expect(reservedOrders == ["other"])
        }
    }

    @Test("a refusal decided on a cached state is decided again on the stored stream")
    func refusalIsCheckedAgainstTheStore() async throws {
        try await withEventStore { store in
            let stream = Stock.stream("SKU-C3")
            let context = CommandContext(correlationID: "c")
            let cache = StreamStateCache()
            let cached = CommandHandler(decider: Stock.decider(sku: "SKU-C3"), codec: Stock.codec, store: store, cache: cache)
            let other = CommandHandler(decider: Stock.decider(sku: "SKU-C3"), codec: Stock.codec, store: store)
            _ = try await cached.handle(.restock(quantity: 3), on: stream, context: context)
            // Another instance reserves: the cache knows no reservation, so a commit would be refused.
            _ = try await other.handle(.reserve(orderID: "late", quantity: 2), on: stream, context: context)
            do {
                let outcome = try await cached.handle(.commit(orderID: "late"), on: stream, context: context)
                guard case .appended = outcome else {
                    Issue.record("the commit appended nothing: \(outcome)")
                    return
                }
            } catch {
                Issue.record("the commit was refused on the cached state: \(error)")
            }
        }
    }
}

import Checkout
import EventSourcing
import EventStore
import Foundation
import SuiteTesting
import Testing

@Suite("Temporal queries and upcasting")
struct TemporalQueryTests {
    @Test("state as it was at a past time and at a past version")
    func stateAsOfTimeAndVersion() async throws {
        try await withEventStore { store in
            let handler = CommandHandler(decider: Stock.decider(sku: "SKU-T"), codec: Stock.codec, store: store)
            let stream = Stock.stream("SKU-T")
            let context = CommandContext(correlationID: "c")
            guard case .appended(_, let first, _) = try await handler.handle(.restock(quantity: 10), on: stream, context: context),
                case .appended(_, let second, _) = try await handler.handle(.reserve(orderID: "o-1", quantity: 4), on: stream, context: context)
            else {
                Issue.record("expected appends")
                return
            }
            _ = try await handler.handle(.restock(quantity: 5), on: stream, context: context)

            let t1 = try #require(first.events.first?.recordedAt)
            let t2 = try #require(second.events.first?.recordedAt)
            // Between the two events: after the first, before the second.
            let between = t1.addingTimeInterval(t2.timeIntervalSince(t1) / 2)
            let then = try await handler.state(of: stream, asOf: between)
            #expect(then.version == 1)
            #expect(then.state.onHand == 10 && then.state.available == 10)

            let atVersion2 = try await handler.state(of: stream, version: 2)
            #expect(atVersion2.state.available == 6)
            let now = try await handler.load(stream)
            #expect(now.version == 3 && now.state.onHand == 15 && now.state.available == 11)
            let beforeAnything = try await handler.state(of: stream, asOf: t1.addingTimeInterval(-60))
            #expect(beforeAnything.version == 0)
        }
    }

    @Test("an OrderPlaced stored as schema version 1 is read as today's version, paid by card")
    func upcastsOnRead() async throws {
        try await withEventStore { store in
            let v1 = #"{"orderId":"o-old","customerId":"c-1","lines":[{"sku":"SKU-1","quantity":1,"unitPriceCents":500}],"totalCents":500}"#
            let stream = Order.stream("o-old")
            _ = try await store.append(
                to: stream, expected: .noStream,
                events: [NewEvent(encoded: EncodedEvent(type: "OrderPlaced", schemaVersion: 1, payload: Array(v1.utf8)), correlationID: "c")])
            let stored = try await store.readStream(stream.description)
            #expect(stored.first?.schemaVersion == 1, "the store keeps the event as written")
            let decoded = try Order.codec.decode(try #require(stored.first).encoded)
            guard case .placed(let placed) = decoded else {
                Issue.record("expected OrderPlaced, got \(decoded)")
                return
            }
            #expect(placed.paymentMethod == "card")
            let handler = CommandHandler(decider: Order.decider(orderID: "o-old"), codec: Order.codec, store: store)
            #expect(try await handler.load(stream).state.paymentMethod == "card")
        }
    }

    @Test("snapshots: a long stream loads from its snapshot plus the tail, with the same state")
    func snapshotsAreUsed() async throws {
        try await withEventStore { store in
            let snapshotting = CommandHandler(decider: Stock.decider(sku: "SKU-S"), codec: Stock.codec, store: store, snapshotEvery: 10)
            let plain = CommandHandler(decider: Stock.decider(sku: "SKU-S"), codec: Stock.codec, store: store)
            let stream = Stock.stream("SKU-S")
            for index in 0..<25 {
                _ = try await snapshotting.handle(.restock(quantity: index + 1), on: stream, context: CommandContext(correlationID: "c"))
            }
            let snapshot = try #require(try await store.loadSnapshot(of: stream.description))
            #expect(snapshot.version == 20)
            let fromSnapshot = try await snapshotting.load(stream)
            let fromEvents = try await plain.load(stream)
            #expect(fromSnapshot.version == 25 && fromEvents.version == 25)
            #expect(fromSnapshot.state == fromEvents.state)
        }
    }
}

import Checkout
import EventSourcing
import Foundation
import PostgresNIO
import Sagas
import ServiceSupport
import SuiteTesting
import Testing

/// A stream's events reach the saga in version order even when the log holds a later one
/// first (a lost send resent in order leaves v2, v1, v2 on the topic).
@Suite("Saga: events ahead of a gap")
struct SagaArrivalOrderTests {
    private func event(_ type: String, version: Int64, _ payload: String) -> RecordedEvent {
        TestEvents.record(stream: "order-o-gap", streamType: "order", version: version, type: type, payload: payload, correlation: "corr")
    }

    private var placed: RecordedEvent {
        event(
            "OrderPlaced", version: 1,
            #"{"orderId":"o-gap","customerId":"c","lines":[{"sku":"PEN","quantity":1,"unitPriceCents":100}],"totalCents":100,"paymentMethod":"card"}"#)
    }

    /// The checkout saga's store on a fresh, migrated database.
    private func withSagaStore(_ body: @Sendable (PostgresClient, SagaStore<CheckoutSaga>) async throws -> Void) async throws {
        try await TestDatabase.withFresh { client, _ in
            try await SagaSchema.migrator.run(on: client, logger: testLogger("migrate"))
            try await body(client, SagaStore(definition: CheckoutSaga(), client: client, logger: testLogger("saga")))
        }
    }

    @Test("OrderCancelled v2 seen before OrderPlaced v1 is held back; its copy after v1 compensates the checkout")
    func cancelAheadOfPlacedIsHeldBack() async throws {
        try await withSagaStore { client, store in
            let cancelled = event("OrderCancelled", version: 2, #"{"orderId":"o-gap","reason":"changed my mind"}"#)

            #expect(try await store.handle(cancelled) == .heldBack(expectedVersion: 1))
            #expect(try await store.handle(placed) == .advanced(status: .running, commands: 1))
            let compensating = try await store.handle(cancelled)
            #expect(compensating == .advanced(status: .running, commands: 1), "the copy after v1 starts compensation (release)")
            #expect(try await store.handle(cancelled) == .duplicate)

            let step = try await client.query(
                "SELECT step FROM sagas.instances WHERE correlation_id = 'o-gap'", logger: testLogger("q")
            ).collect().first?.decode(String.self)
            #expect(step == "releasing")
            let commands = try await client.query(
                "SELECT command_type FROM sagas.outbox WHERE correlation_id = 'o-gap' ORDER BY position", logger: testLogger("q")
            ).collect().map { try $0.decode(String.self) }
            #expect(commands == ["ReserveStock", "ReleaseStock"], "no payment authorized for a cancelled order")
        }
    }

    @Test("a redelivered event is handled once: no second history line, no second command")
    func redeliveryHandledOnce() async throws {
        try await withSagaStore { client, store in
            #expect(try await store.handle(placed) == .advanced(status: .running, commands: 1))
            // The saga itself would record a second OrderPlaced ("placed again"): only the runtime stops it.
            #expect(try await store.handle(placed) == .duplicate)
            let events = try await client.query(
                "SELECT count(*)::int8 FROM sagas.history WHERE correlation_id = 'o-gap' AND kind = 'event'", logger: testLogger("q")
            ).collect().first?.decode(Int64.self)
            #expect(events == 1)
            let commands = try await client.query(
                "SELECT count(*)::int8 FROM sagas.outbox WHERE correlation_id = 'o-gap'", logger: testLogger("q")
            ).collect().first?.decode(Int64.self)
            #expect(commands == 1)
        }
    }
}

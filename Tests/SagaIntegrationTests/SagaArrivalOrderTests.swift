import CheckoutSuite
import Checkout
import EventSourcing
import EventStore
import Foundation
import PostgresNIO
import Sagas
import ServiceSupport
import SuiteTesting
import Synchronization
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

    /// The checkout saga's store on a fresh database with the event store and saga schemas.
    private func withSagaStore(_ body: @Sendable (PostgresClient, SagaStore<CheckoutSaga>, PostgresEventStore) async throws -> Void) async throws {
        try await TestDatabase.withFresh { client, _ in
            let events = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await events.migrate(roles: CheckoutNames.roles)
            try await SagaSchema.migrator(roles: CheckoutNames.roles).run(on: client, logger: testLogger("migrate"))
            try await body(client, SagaStore(definition: CheckoutSaga(commandTopic: CheckoutNames.Topics.commands), client: client, logger: testLogger("saga")), events)
        }
    }

    @Test("OrderCancelled v2 seen before OrderPlaced v1 (neither in the event store) is held back; its copy after v1 compensates the checkout")
    func cancelAheadOfPlacedIsHeldBack() async throws {
        try await withSagaStore { client, store, _ in
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

    @Test("a concurrent transaction that receives a stream's first event meanwhile makes the batch retry: the event is handled once")
    func concurrentFirstArrivalHandledOnce() async throws {
        try await withSagaStore { client, store, _ in
            let placed = self.placed
            let cancelled = event("OrderCancelled", version: 2, #"{"orderId":"o-gap","reason":"changed my mind"}"#)
            // The old owner of the partition handles v1 between this batch's probe (no position
            // yet) and its move of the positions.
            let interleaved = TestCounter()
            var racing = store
            racing.afterArrivalProbe = {
                guard interleaved.value == 0 else { return }
                interleaved.increment()
                let outcome = try await store.handle(placed)
                #expect(outcome == .advanced(status: .running, commands: 1))
            }
            let outcomes = try await racing.handle([placed, cancelled])
            #expect(outcomes.first == .duplicate, "v1 was received by the other transaction first")
            let placedLines = try await client.query(
                "SELECT count(*)::int8 FROM sagas.history WHERE correlation_id = 'o-gap' AND kind = 'event' AND detail LIKE 'OrderPlaced%'",
                logger: testLogger("q")
            ).collect().first?.decode(Int64.self)
            #expect(placedLines == 1)
            let reserves = try await client.query(
                "SELECT count(*)::int8 FROM sagas.outbox WHERE correlation_id = 'o-gap' AND command_type = 'ReserveStock'", logger: testLogger("q")
            ).collect().first?.decode(Int64.self)
            #expect(reserves == 1)
        }
    }

    @Test("two transactions receive an existing instance's first event of a new stream at once: the one that read the positions before the other committed retries, and the event is handled once")
    func concurrentArrivalOnExistingInstanceHandledOnce() async throws {
        try await withSagaStore { client, store, _ in
            #expect(try await store.handle(placed) == .advanced(status: .running, commands: 1))
            let reserved = TestEvents.record(
                stream: "stock-PEN", streamType: "stock", version: 1, type: "StockReserved", payload: #"{"sku":"PEN","orderId":"o-gap","quantity":1}"#,
                correlation: "corr")
            // A probes (no position for stock-PEN yet; the instance locked), then B probes too:
            // B reads the positions, then waits for the instance A holds. A commits; B goes on
            // with positions read before A's commit, and only the arrival count tells it.
            let interleaved = TestCounter()
            let other = TaskBox<SagaStore<CheckoutSaga>.Outcome>()
            var first = store
            first.afterArrivalProbe = {
                guard interleaved.value == 0 else { return }
                interleaved.increment()
                other.start { try await store.handle(reserved) }
                try await waitUntil("the other transaction waiting for the instance", timeout: .seconds(10)) {
                    try await client.query(
                        "SELECT count(*)::int8 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                        logger: testLogger("q")
                    ).collect().first?.decode(Int64.self) == 1
                }
            }
            #expect(try await first.handle(reserved) == .advanced(status: .running, commands: 1), "all reserved: authorize the payment")
            #expect(try await other.value() == .duplicate, "it read the positions before the first committed: it must retry and see a redelivery")
            let lines = try await client.query(
                "SELECT count(*)::int8 FROM sagas.history WHERE correlation_id = 'o-gap' AND kind = 'event' AND detail LIKE 'StockReserved%'",
                logger: testLogger("q")
            ).collect().first?.decode(Int64.self)
            #expect(lines == 1)
        }
    }

    @Test("a redelivered event is handled once: no second history line, no second command")
    func redeliveryHandledOnce() async throws {
        try await withSagaStore { client, store, _ in
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

    @Test("OrderCancelled v2 seen without OrderPlaced v1: v1 is read from the event store and handled first, then the cancel")
    func gapFilledFromTheStore() async throws {
        try await withSagaStore { client, store, events in
            let context = CommandContext(correlationID: "corr")
            let orders = CommandHandler(decider: Order.decider(orderID: "o-gap"), codec: Order.codec, store: events)
            _ = try await orders.handle(
                .place(customerID: "c", lines: [OrderLine(sku: "PEN", quantity: 1, unitPriceCents: 100)], paymentMethod: "card"),
                on: Order.stream("o-gap"), context: context)
            _ = try await orders.handle(.cancel(reason: "changed my mind"), on: Order.stream("o-gap"), context: context)
            let stored = try await events.readStream("order-o-gap")
            let cancelled = try #require(stored.last)
            #expect(cancelled.streamVersion == 2)

            // Only v2 reaches the saga (v1's send was lost); the store fills the gap.
            #expect(try await store.handle(cancelled) == .advanced(status: .running, commands: 1))
            let commands = try await client.query(
                "SELECT command_type FROM sagas.outbox WHERE correlation_id = 'o-gap' ORDER BY position", logger: testLogger("q")
            ).collect().map { try $0.decode(String.self) }
            #expect(commands == ["ReserveStock", "ReleaseStock"], "placed handled first, then the cancel")
            // The relay's later copy of v1 is a redelivery.
            #expect(try await store.handle(try #require(stored.first)) == .duplicate)
        }
    }
}

/// A task started from inside a closure that cannot return it, awaited later.
final class TaskBox<Value: Sendable>: Sendable {
    private let task = Mutex<Task<Value, any Error>?>(nil)

    func start(_ body: @escaping @Sendable () async throws -> Value) {
        task.withLock { $0 = Task { try await body() } }
    }

    func value() async throws -> Value {
        guard let running = task.withLock({ $0 }) else { throw CancellationError() }
        return try await running.value
    }
}

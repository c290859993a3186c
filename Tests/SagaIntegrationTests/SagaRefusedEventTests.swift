import CheckoutSuite
import Checkout
import EventSourcing
import EventStore
import Foundation
@testable import Kafka
import PostgresNIO
import Sagas
import SuiteTesting
import Testing

/// The checkout saga after an upgrade that reads schema version 9 of every event (the same
/// fields): the code before it refuses such events, this one reads them.
struct UpgradedCheckoutSaga: SagaDefinition {
    let base = CheckoutSaga(commandTopic: CheckoutNames.Topics.commands)
    var name: String { base.name }

    private func read(_ event: RecordedEvent) -> RecordedEvent {
        guard event.schemaVersion == 9, let current = EventExamples.schemaVersion(of: event.type) else { return event }
        var event = event
        event.schemaVersion = current
        return event
    }

    func correlationID(of event: RecordedEvent) -> String? { base.correlationID(of: read(event)) }
    func start(with event: RecordedEvent, now: Date) throws -> SagaReaction<CheckoutSagaState>? { try base.start(with: read(event), now: now) }
    func react(to event: RecordedEvent, in state: CheckoutSagaState, now: Date) throws -> SagaReaction<CheckoutSagaState> {
        try base.react(to: read(event), in: state, now: now)
    }
    func deadlinePassed(in state: CheckoutSagaState, now: Date) -> SagaReaction<CheckoutSagaState> { base.deadlinePassed(in: state, now: now) }
    func retry(_ state: CheckoutSagaState, now: Date) -> SagaReaction<CheckoutSagaState> { base.retry(state, now: now) }
}

/// An event the saga refuses stays retrievable: kept with its instance (failed, created failed if
/// the event should have started it), later events of the instance kept behind it, and the
/// operator's retry hands them to the code running then. Its dead-letter copy is written to the
/// saga outbox in the transaction that refused it.
@Suite("Saga: refused events are kept for the retry", .serialized)
struct SagaRefusedEventTests {
    private static func event(_ type: String, stream: String, version: Int64, _ payload: String, schemaVersion: Int? = nil) -> RecordedEvent {
        TestEvents.record(
            stream: stream, streamType: String(stream.prefix { $0 != "-" }), version: version, type: type, payload: payload, correlation: "corr",
            schemaVersion: schemaVersion ?? EventExamples.schemaVersion(of: type) ?? 1)
    }

    private static func placed(_ order: String, schemaVersion: Int? = nil) -> RecordedEvent {
        event(
            "OrderPlaced", stream: "order-\(order)", version: 1,
            #"{"orderId":"\#(order)","customerId":"c","lines":[{"sku":"PEN","quantity":1,"unitPriceCents":100}],"totalCents":100,"paymentMethod":"card"}"#,
            schemaVersion: schemaVersion)
    }

    private func withStores(
        _ body: @Sendable (PostgresClient, SagaStore<CheckoutSaga>, SagaStore<UpgradedCheckoutSaga>) async throws -> Void
    ) async throws {
        try await TestDatabase.withFresh { client, _ in
            let events = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await events.migrate(roles: CheckoutNames.roles)
            try await SagaSchema.migrator(roles: CheckoutNames.roles).run(on: client, logger: testLogger("migrate"))
            var old = SagaStore(definition: CheckoutSaga(commandTopic: CheckoutNames.Topics.commands), client: client, logger: testLogger("saga"))
            old.deadLetters = SagaDeadLetterRoute(topic: CheckoutNames.Topics.deadLetters, processor: "saga-test")
            try await body(client, old, SagaStore(definition: UpgradedCheckoutSaga(), client: client, logger: testLogger("upgraded")))
        }
    }

    private static func commands(_ client: PostgresClient, _ order: String) async throws -> [String] {
        try await client.query(
            "SELECT command_type FROM sagas.outbox WHERE correlation_id = \(order) AND kind = 'command' ORDER BY position", logger: testLogger("q")
        ).collect().map { try $0.decode(String.self) }
    }

    private static func kept(_ client: PostgresClient, _ order: String) async throws -> Int64 {
        try await client.query("SELECT count(*)::int8 FROM sagas.parked_events WHERE correlation_id = \(order)", logger: testLogger("q"))
            .collect().first?.decode(Int64.self) ?? -1
    }

    @Test("a refused OrderPlaced makes a failed instance that GET /sagas/{id} shows; later events wait behind it; the retry after the upgrade starts the saga and hands them over")
    func refusedStartIsRetried() async throws {
        try await withStores { client, old, upgraded in
            let cancelled = Self.event("OrderCancelled", stream: "order-o-new", version: 2, #"{"orderId":"o-new","reason":"changed my mind"}"#)
            let outcomes = try await old.handle([Self.placed("o-new", schemaVersion: 9), cancelled])
            guard case .refused(let reason) = outcomes.first else {
                Issue.record("OrderPlaced v9 was not refused: \(outcomes)")
                return
            }
            #expect(reason.contains("newer than this code knows"))
            #expect(outcomes.last == .heldBehindRefused)

            let view = try await SagaQueries(client: client, logger: testLogger("q")).instance(saga: "checkout", correlationID: "o-new")
            #expect(view?.state == "failed")
            #expect(view?.step == "not started")
            #expect(view?.error?.contains("cannot start from OrderPlaced from order-o-new@1 (schema version 9)") == true, "\(String(describing: view?.error))")
            #expect(try await Self.kept(client, "o-new") == 2)

            // The code before the upgrade still cannot read it: nothing is lost by trying.
            #expect(try await old.retry("o-new", operator: "test") == .failed)
            #expect(try await Self.kept(client, "o-new") == 2)

            #expect(try await upgraded.retry("o-new", operator: "test") == .running)
            #expect(try await Self.kept(client, "o-new") == 0)
            #expect(try await Self.commands(client, "o-new") == ["ReserveStock", "ReleaseStock"], "started, then compensating for the cancel")
            let after = try await SagaQueries(client: client, logger: testLogger("q")).instance(saga: "checkout", correlationID: "o-new")
            #expect(after?.step == "releasing")
            #expect(after?.error == nil)
        }
    }

    /// The locking read counts held events in its snapshot; when it waited for the instance's
    /// row, the row is the committed one (failed) but the count is from before (none).
    @Test("an event whose batch waited for the instance while another refused an event of it is held behind the refused one (issue 22)")
    func waitingBatchSeesTheRefusal() async throws {
        try await withStores { client, old, _ in
            _ = try await old.handle([Self.placed("o-race")])
            let (locked, lockedSignal) = AsyncStream<Void>.makeStream()
            let (release, releaseSignal) = AsyncStream<Void>.makeStream()
            var refusing = old
            refusing.afterArrivalProbe = {
                lockedSignal.yield()
                for await _ in release { break }
            }
            let refusal = Task {
                try await refusing.handle([
                    Self.event("StockReserved", stream: "stock-PEN", version: 1, #"{"sku":"PEN","orderId":"o-race","quantity":1}"#, schemaVersion: 9)
                ])
            }
            for await _ in locked { break }
            let waiting = Task {
                try await old.handle([
                    Self.event("PaymentAuthorized", stream: "payment-o-race", version: 1, #"{"orderId":"o-race","amountCents":100,"authorizationId":"a"}"#)
                ])
            }
            try await waitUntil("the second batch waiting for the instance's row", timeout: .seconds(30)) {
                try await client.query("SELECT count(*)::int8 FROM pg_locks WHERE NOT granted", logger: testLogger("q"))
                    .collect().first?.decode(Int64.self) ?? 0 > 0
            }
            releaseSignal.yield()
            guard case .refused = try await refusal.value.first else {
                Issue.record("the v9 reservation was not refused")
                return
            }
            #expect(try await waiting.value == [.heldBehindRefused], "handed over past the refused event")
            #expect(try await Self.kept(client, "o-race") == 2)
        }
    }

    @Test("a late PaymentAuthorized the saga cannot read is kept with the compensated saga; the retry after the upgrade refunds it")
    func refusedLateAuthorizationIsRefundedAfterRetry() async throws {
        try await withStores { client, old, upgraded in
            let rejected = Self.event(
                "StockReservationRejected", stream: "stock-PEN", version: 1,
                #"{"sku":"PEN","orderId":"o-late","quantity":1,"available":0,"reason":"out of stock"}"#)
            let cancelled = Self.event("OrderCancelled", stream: "order-o-late", version: 2, #"{"orderId":"o-late","reason":"out of stock"}"#)
            _ = try await old.handle([Self.placed("o-late"), rejected, cancelled])
            #expect(try await client.query("SELECT status FROM sagas.instances WHERE correlation_id = 'o-late'", logger: testLogger("q"))
                .collect().first?.decode(String.self) == "compensated")

            let authorized = Self.event(
                "PaymentAuthorized", stream: "payment-o-late", version: 1, #"{"orderId":"o-late","amountCents":100,"authorizationId":"a"}"#,
                schemaVersion: 9)
            guard case .refused = try await old.handle(authorized) else {
                Issue.record("PaymentAuthorized v9 was not refused")
                return
            }
            #expect(try await Self.kept(client, "o-late") == 1)
            #expect(try await old.handle(authorized) == .duplicate, "its stream moved on: the event is kept, not waiting on Kafka")

            #expect(try await upgraded.retry("o-late", operator: "test") == .compensated)
            let commands = try await Self.commands(client, "o-late")
            #expect(commands.last == "RefundPayment", "\(commands)")
            #expect(try await Self.kept(client, "o-late") == 0)
        }
    }

    @Test("the dead-letter copy of a refused event is in sagas.outbox when its transaction commits, and the relay publishes it with its headers")
    func deadLetterWrittenWithTheTransaction() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all, partitions: 1)
        try await withStores { client, old, _ in
            let refused = Self.placed("o-dlq", schemaVersion: 9)
            let message = TestEvents.message(refused, topic: CheckoutNames.Topics.orderEvents)
            let record = KafkaConsumedMessage(
                topic: CheckoutNames.Topics.orderEvents, partition: 0, offset: 41, key: message.key, value: message.value, headers: message.headers,
                timestampMilliseconds: nil)
            _ = try await old.handle([refused], records: [record])

            // Committed with the refusal, before any relay ran.
            let rows = try await client.query(
                "SELECT topic, command_id FROM sagas.outbox WHERE kind = 'dead-letter' AND published_at IS NULL", logger: testLogger("q")
            ).collect().map { try $0.decode((String, String).self) }
            #expect(rows.count == 1)
            #expect(rows.first?.0 == CheckoutNames.Topics.deadLetters)
            #expect(rows.first?.1 == "dead-letter:\(CheckoutNames.Topics.orderEvents)/0/41")

            let producer = try kafka.producer()
            let relay = Task { try await SagaCommandRelay(client: client, producer: producer, logger: testLogger("relay")).run() }
            let letters = try await kafka.readAll([CheckoutNames.Topics.deadLetters]) { !$0.isEmpty }
            relay.cancel()
            _ = try? await relay.value
            await producer.close()
            #expect(letters.count == 1)
            let letter = letters.first
            #expect(letter?.headers.string("dlq-reason")?.contains("cannot start from OrderPlaced from order-o-dlq@1 (schema version 9)") == true)
            #expect(letter?.headers.string("dlq-processor") == "saga-test")
            #expect(letter?.headers.string("dlq-source") == "\(CheckoutNames.Topics.orderEvents)/0/41")
            #expect(letter?.headers.string("stream-id") == "order-o-dlq", "the original headers are kept")
            #expect(letter?.value == record.value)
            #expect(letter?.key == record.key)
        }
    }
}

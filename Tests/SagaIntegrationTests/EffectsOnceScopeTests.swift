@testable import Checkout
import CheckoutSuite
import EventSourcing
import EventStore
import InvariantChecks
@testable import CheckoutContext
import SuiteTesting
import Testing

/// `effects-once` is about the checkout saga's commands: refunds that other contexts ask of the
/// same payment (returns, each with its own refund id) are not executions of a saga command,
/// however many there are; the saga's own refund, v1 or v2, still counts once.
@Suite("Effects once, scoped to the checkout saga")
struct EffectsOnceScopeTests {
    /// Appends `events` to the payment stream of `order` and returns effects-once's violations.
    private func violations(after events: [EncodedEvent], order: String) async throws -> [String] {
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            _ = try await store.append(
                to: Payment.stream(order), expected: .noStream, events: events.map { NewEvent(encoded: $0, correlationID: order) })
            return try await EffectsOnce().check(CheckContext(client: client, logger: testLogger("check"))).violations
        }
    }

    private func encoded(_ event: PaymentEvent) throws -> EncodedEvent { try Payment.codec.encode(event) }
    private func authorized(_ order: String) throws -> EncodedEvent {
        try encoded(.authorized(PaymentAuthorized(orderId: order, amountCents: 1000, authorizationId: "auth-\(order)")))
    }
    private func refunded(_ order: String, _ cents: Int, _ refundID: String) throws -> EncodedEvent {
        try encoded(.refunded(PaymentRefunded(orderId: order, amountCents: cents, refundId: refundID)))
    }

    @Test("two partial refunds of one order by other refund ids, beside the saga's own, are no violation")
    func foreignRefundsAreNotCounted() async throws {
        let found = try await violations(
            after: [try authorized("o-1"), try refunded("o-1", 300, "return-1"), try refunded("o-1", 200, "return-2"), try refunded("o-1", 500, "checkout-o-1")],
            order: "o-1")
        #expect(found.isEmpty, "\(found)")
    }

    @Test("the saga's own refund twice is a violation, also when one of them is a v1 event")
    func ownRefundCountedOnce() async throws {
        let twice = try await violations(
            after: [try authorized("o-2"), try refunded("o-2", 300, "checkout-o-2"), try refunded("o-2", 300, "return-1"), try refunded("o-2", 300, "checkout-o-2")],
            order: "o-2")
        #expect(twice == ["payment-o-2 PaymentRefunded for o-2 ×2"])
        let v1 = EncodedEvent(type: "PaymentRefunded", schemaVersion: 1, payload: Array(#"{"orderId":"o-3","amountCents":300}"#.utf8))
        let legacy = try await violations(after: [try authorized("o-3"), v1, try refunded("o-3", 300, "checkout-o-3")], order: "o-3")
        #expect(legacy == ["payment-o-3 PaymentRefunded for o-3 ×2"])
    }
}

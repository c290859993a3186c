@testable import Checkout
import CheckoutSuite
import EventSourcing
import EventStore
import InvariantChecks
@testable import Returns
@testable import ReturnsContext
import SuiteTesting
import Testing

/// Returns' invariants catch what they promise to: a refund id paid twice, refunds beyond what
/// was captured, and a received return that never ended.
@Suite("Returns invariants")
struct ReturnsInvariantTests {
    private func check(_ invariant: some Invariant, after events: [EncodedEvent], stream: StreamName) async throws -> CheckResult {
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            _ = try await store.append(to: stream, expected: .noStream, events: events.map { NewEvent(encoded: $0, correlationID: "c") })
            return try await invariant.check(CheckContext(client: client, logger: testLogger("check")))
        }
    }

    private func payment(_ events: PaymentEvent...) throws -> [EncodedEvent] { try events.map { try Payment.codec.encode($0) } }
    private static let authorized = PaymentEvent.authorized(PaymentAuthorized(orderId: "o-1", amountCents: 1000, authorizationId: "a"))
    private static func refunded(_ cents: Int, _ id: String) -> PaymentEvent { .refunded(PaymentRefunded(orderId: "o-1", amountCents: cents, refundId: id)) }

    @Test("refunds within what was captured, each refund id once, hold; a second payment of an id or an excess does not")
    func refundsWithinCaptured() async throws {
        let stream = Payment.stream("o-1")
        let fine = try await check(RefundsWithinCaptured(), after: try payment(Self.authorized, Self.refunded(300, "r-1"), Self.refunded(700, "r-2")), stream: stream)
        #expect(fine.holds, "\(fine.violations)")
        let twice = try await check(RefundsWithinCaptured(), after: try payment(Self.authorized, Self.refunded(300, "r-1"), Self.refunded(300, "r-1")), stream: stream)
        #expect(!twice.holds)
        let excess = try await check(RefundsWithinCaptured(), after: try payment(Self.authorized, Self.refunded(600, "r-1"), Self.refunded(600, "r-2")), stream: stream)
        #expect(!excess.holds)
    }

    @Test("a received return without an end is a violation")
    func returnsEnd() async throws {
        let received = try Return.codec.encode(
            .received(ReturnReceived(returnId: "o-1.ra", orderId: "o-1", lines: [], amountCents: 0)))
        let result = try await check(ReturnsEnd(), after: [received], stream: Return.stream(orderID: "o-1"))
        #expect(!result.holds && result.violations.first?.contains("o-1.ra") == true, "\(result.violations)")
    }
}

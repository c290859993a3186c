import Foundation
import PostgresNIO
import SuiteTesting
import Testing

/// The checkout's races through the three real services, with the order forced: the
/// orchestrator's drill switch holds one command type in its relay (and the later commands of
/// the same keys), so a reply arrives after a deadline, or a customer's cancel before a
/// confirmation, every time.
@Suite("Checkout compensation races, ordered", .serialized)
struct CompensationRaceTests {
    /// Short deadlines (one retry) so that held steps give up quickly.
    static let deadlines = ["SAGA_PAYMENT_DEADLINE_MS": "1500", "SAGA_STEP_DEADLINE_MS": "1500", "SAGA_MAX_RETRIES": "1"]

    private func hold(_ stack: CheckoutStack, _ commandType: String, _ enabled: Bool) async throws {
        let response = try await stack.http.post(
            "\(stack.sagaURL)/admin/faults", body: .object(["holdCommandType": commandType, "enabled": enabled]),
            headers: ["Authorization": "Bearer test-token"])
        guard response.status == 200 else { throw Unexpected("hold \(commandType): \(response.status) \(response.text)") }
    }

    private func eventTypes(_ stack: CheckoutStack, _ stream: String) async throws -> [String] {
        let response = try await stack.http.get("\(stack.commandURL)/streams/\(stream)/events")
        guard response.status == 200 else { return [] }
        return (response.json?["events"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
    }

    private func waitForStep(_ stack: CheckoutStack, _ orderID: String, _ step: String) async throws {
        try await waitUntil("saga \(orderID) in step \(step)", timeout: .seconds(60), every: .milliseconds(100)) {
            try await stack.saga(orderID)?["step"] as? String == step
        }
    }

    @Test("late authorization, cancel against confirm, cancel against commit, release against a late reserve: each ends as documented, money and stock right")
    func orderedRaces() async throws {
        try await TestDatabase.withFresh { client, databaseURL in
            let stack = try await CheckoutStack(databaseURL: databaseURL, sagaEnvironment: Self.deadlines)
            defer { stack.killAll() }
            for sku in ["LATE", "CONF", "COMM", "RSV1", "RSV2"] { try await stack.restock(sku, 10) }

            // 1. The payment answers after the saga gave up on it: compensated, then refunded.
            try await hold(stack, "AuthorizePayment", true)
            let late = try await stack.placeOrder(customer: "late", lines: [("LATE", 2)], paymentMethod: "card")
            let gaveUp = try await stack.finishedSaga(late)
            #expect(gaveUp["state"] as? String == "compensated", "\(gaveUp)")
            #expect(try await eventTypes(stack, "payment-\(late)").isEmpty, "no payment while held")
            try await hold(stack, "AuthorizePayment", false)
            try await waitUntil("the late authorization refunded", timeout: .seconds(60), every: .milliseconds(200)) {
                try await eventTypes(stack, "payment-\(late)") == ["PaymentAuthorized", "PaymentRefunded"]
            }
            #expect(try await stack.saga(late)?["state"] as? String == "compensated", "not failed after the late reply")
            #expect(try await eventTypes(stack, "order-\(late)").last == "OrderCancelled")

            // 2. The customer's cancel wins against the confirmation: nothing committed, money back.
            try await hold(stack, "ConfirmOrder", true)
            let cancelFirst = try await stack.placeOrder(customer: "cancel-first", lines: [("CONF", 3)], paymentMethod: "card")
            try await waitForStep(stack, cancelFirst, "confirming")
            let cancel = try await stack.http.post("\(stack.commandURL)/orders/\(cancelFirst)/cancel", body: .object(["reason": "too slow"]))
            #expect(cancel.status == 200, "\(cancel.text)")
            let compensated = try await stack.finishedSaga(cancelFirst)
            #expect(compensated["state"] as? String == "compensated", "\(compensated)")
            try await hold(stack, "ConfirmOrder", false)
            try await waitUntil("the refund", timeout: .seconds(60), every: .milliseconds(200)) {
                try await eventTypes(stack, "payment-\(cancelFirst)") == ["PaymentAuthorized", "PaymentRefunded"]
            }
            #expect(!(try await eventTypes(stack, "order-\(cancelFirst)").contains("OrderConfirmed")), "the held confirmation was refused")

            // 3. The confirmation wins against the cancel: the cancel is refused, the checkout completes.
            try await hold(stack, "CommitStock", true)
            let confirmFirst = try await stack.placeOrder(customer: "confirm-first", lines: [("COMM", 4)], paymentMethod: "card")
            try await waitForStep(stack, confirmFirst, "committing")
            let refused = try await stack.http.post("\(stack.commandURL)/orders/\(confirmFirst)/cancel", body: .object(["reason": "too late"]))
            #expect(refused.status == 422 && refused.text.contains("order_confirmed"), "\(refused.text)")
            try await hold(stack, "CommitStock", false)
            let completed = try await stack.finishedSaga(confirmFirst)
            #expect(completed["state"] as? String == "completed", "\(completed)")
            #expect(try await eventTypes(stack, "payment-\(confirmFirst)") == ["PaymentAuthorized"])

            // 4. The reservations arrive after the saga gave up on them: released after them, balanced.
            try await hold(stack, "ReserveStock", true)
            let slowStock = try await stack.placeOrder(customer: "slow-stock", lines: [("RSV1", 1), ("RSV2", 2)], paymentMethod: "card")
            try await waitForStep(stack, slowStock, "releasing")
            try await hold(stack, "ReserveStock", false)
            let released = try await stack.finishedSaga(slowStock)
            #expect(released["state"] as? String == "compensated", "\(released)")
            for sku in ["RSV1", "RSV2"] {
                let types = try await eventTypes(stack, "stock-\(sku)")
                #expect(types.suffix(2) == ["StockReserved", "StockReleased"], "\(sku): \(types)")
            }
            #expect(try await eventTypes(stack, "payment-\(slowStock)").isEmpty, "no payment asked once compensating")

            // Stock: only the completed checkout took any; nothing left reserved.
            for (sku, onHand) in [("LATE", 10), ("CONF", 10), ("COMM", 6), ("RSV1", 10), ("RSV2", 10)] {
                let levels = try await stack.stockLevels(sku)
                #expect(levels.onHand == onHand && levels.reserved == 0, "\(sku): \(levels)")
            }
            #expect(try await EffectChecks.violations(client) == [])
            await stack.stop()
        }
    }
}

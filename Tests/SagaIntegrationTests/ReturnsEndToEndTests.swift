import Foundation
import PostgresNIO
import SuiteTesting
import Testing

/// A return across the three real services, as a client would drive it: 2 of 3 bought units
/// come back, the stock is restocked, the payment refunds their price once, the order view
/// shows it; returning more than is left is refused.
@Suite("Returns end to end", .serialized)
struct ReturnsEndToEndTests {
    @Test("a return of 2 of 3 bought units completes: stock back, partial refund, order view; an over-return is refused")
    func partialReturn() async throws {
        try await TestDatabase.withFresh { client, databaseURL in
            let stack = try await CheckoutStack(databaseURL: databaseURL)
            defer { stack.killAll() }
            try await stack.restock("PEN", 10)
            let order = try await stack.placeOrder(customer: "ada", lines: [("PEN", 3)], paymentMethod: "card")
            #expect(try await stack.finishedSaga(order)["state"] as? String == "completed")

            // Returns learns of the order from Kafka: until then it answers 404.
            var returnID = ""
            try await waitUntil("the return accepted", timeout: .seconds(60), every: .milliseconds(200)) {
                let response = try await stack.http.post(
                    "\(stack.commandURL)/orders/\(order)/returns", body: .object(["lines": [["sku": "PEN", "quantity": 2]], "reason": "too many"]))
                guard response.status == 201 else { return false }
                returnID = response.json?["returnId"] as? String ?? ""
                return true
            }
            let tooMany = try await stack.http.post(
                "\(stack.commandURL)/orders/\(order)/returns", body: .object(["lines": [["sku": "PEN", "quantity": 2]], "reason": "again"]))
            #expect(tooMany.status == 422 && (tooMany.json?["details"] as? [String: Any])?["field"] as? String == "lines[0].quantity", "\(tooMany.text)")

            let received = try await stack.http.post("\(stack.commandURL)/returns/\(returnID)/receive", body: .object([:]))
            #expect(received.status == 200, "\(received.text)")
            var view: [String: Any] = [:]
            try await waitUntil("the return completed", timeout: .seconds(60), every: .milliseconds(200)) {
                view = try await stack.http.get("\(stack.projectionURL)/returns/\(returnID)").json ?? [:]
                return view["status"] as? String == "completed"
            }
            #expect(view["refundedCents"] as? Int == 500, "2 x 250: \(view)")
            let pen = try await stack.stockLevels("PEN")
            #expect(pen.onHand == 9, "10 restocked - 3 sold + 2 returned: \(pen)")
            try await waitUntil("the order view shows the refund and the return", timeout: .seconds(60), every: .milliseconds(200)) {
                let order = try await stack.http.get("\(stack.projectionURL)/orders/\(order)").json ?? [:]
                let returns = (order["extensions"] as? [String: Any])?["returns"] as? [String: Any]
                return order["refundedCents"] as? Int == 500 && returns?["refundedCents"] as? Int == 500
            }
            // The checkout saga stays completed: the return's refund is not its own.
            #expect(try await stack.saga(order)?["state"] as? String == "completed")
            let refunds = try await client.query(
                "SELECT count(*)::int8 FROM event_store.events WHERE event_type = 'PaymentRefunded' AND payload->>'refundId' = \(returnID)",
                logger: testLogger("q")
            ).collect().first?.decode(Int64.self)
            #expect(refunds == 1)
            #expect(try await EffectChecks.violations(client) == [])
            await stack.stop()
        }
    }
}

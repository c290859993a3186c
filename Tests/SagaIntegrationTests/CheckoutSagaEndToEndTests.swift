import Foundation
import PostgresNIO
import SuiteTesting
import Testing

/// The checkout saga across the three real services, driven over HTTP as a client would.
@Suite("Checkout saga end to end", .serialized)
struct CheckoutSagaEndToEndTests {
    @Test("success, out of stock, declined payment, silent gateway and customer cancel each end in their documented state; stock balances")
    func fourScenariosAndACancel() async throws {
        try await TestDatabase.withFresh { client, databaseURL in
            let stack = try await CheckoutStack(databaseURL: databaseURL)
            defer { stack.killAll() }
            try await stack.restock("PEN", 10)
            try await stack.restock("INK", 1)

            let success = try await stack.placeOrder(customer: "ada", lines: [("PEN", 2), ("INK", 1)], paymentMethod: "card")
            let outOfStock = try await stack.placeOrder(customer: "bob", lines: [("PEN", 1), ("INK", 5)], paymentMethod: "card")
            let declined = try await stack.placeOrder(customer: "cy", lines: [("PEN", 1)], paymentMethod: "card-declined")
            let silent = try await stack.placeOrder(customer: "di", lines: [("PEN", 3)], paymentMethod: "card-silent")

            let completed = try await stack.finishedSaga(success)
            #expect(completed["state"] as? String == "completed")
            for (id, reason) in [(outOfStock, "out of stock: INK"), (declined, "payment declined"), (silent, "payment gateway did not answer")] {
                let saga = try await stack.finishedSaga(id)
                #expect(saga["state"] as? String == "compensated", "\(reason): \(saga)")
                let order = try await orderView(stack, id, status: "cancelled")
                #expect((order["cancellationReason"] as? String)?.contains(reason) == true, "order \(id): \(order)")
            }
            // The silent gateway's payment was asked twice (one retry), with the same command id.
            let silentHistory = try #require(try await stack.saga(silent)?["history"] as? [[String: Any]])
            let authorizations = silentHistory.compactMap { $0["detail"] as? String }.flatMap { detail in
                detail.matches(of: /AuthorizePayment to \S+ \(id [^)]+\)/).map { String($0.output) }
            }
            #expect(authorizations.count == 2 && Set(authorizations).count == 1, "\(authorizations)")
            _ = try await orderView(stack, success, status: "confirmed")

            // A customer's cancel while the saga waits for the payment is honoured.
            let cancelled = try await stack.placeOrder(customer: "ed", lines: [("PEN", 1)], paymentMethod: "card-silent")
            try await waitUntil("\(cancelled) waiting for its payment", timeout: .seconds(30), every: .milliseconds(100)) {
                try await stack.saga(cancelled)?["step"] as? String == "authorizing"
            }
            let cancel = try await stack.http.post("\(stack.commandURL)/orders/\(cancelled)/cancel", body: .object(["reason": "changed my mind"]))
            #expect(cancel.status == 200, "\(cancel.text)")
            let cancelledSaga = try await stack.finishedSaga(cancelled)
            #expect(cancelledSaga["state"] as? String == "compensated")
            #expect((cancelledSaga["data"] as? [String: Any])?["reason"] as? String == "cancelled by the customer: changed my mind")

            // Stock balances exactly: only the completed order's lines left the shelf.
            let pen = try await stack.stockLevels("PEN")
            #expect(pen.onHand == 8 && pen.reserved == 0 && pen.available == 8, "PEN \(pen)")
            let ink = try await stack.stockLevels("INK")
            #expect(ink.onHand == 0 && ink.reserved == 0, "INK \(ink)")
            #expect(try await EffectChecks.violations(client) == [])

            // Each running service's database connections are under its own role (the login is a superuser).
            for (url, role) in [(stack.commandURL, "checkout_command_service"), (stack.projectionURL, "checkout_projection_service"),
                                (stack.sagaURL, "checkout_saga_orchestrator")] {
                let ready = try await stack.http.get("\(url)/health/ready")
                #expect((ready.json?["details"] as? [String: Any])?["postgres"] as? String == "role \(role)", "\(url): \(ready.text)")
            }

            // Bad input gets a clear error.
            let badState = try await stack.http.get("\(stack.sagaURL)/sagas?state=stuck")
            #expect(badState.status == 400 && badState.text.contains("state"))
            #expect(try await stack.http.get("\(stack.sagaURL)/sagas/no-such-order").status == 404)
            await stack.stop()
        }
    }

    /// The order read model once it shows `status`.
    private func orderView(_ stack: CheckoutStack, _ id: String, status: String) async throws -> [String: Any] {
        var view: [String: Any] = [:]
        try await waitUntil("order \(id) \(status) in the read model", timeout: .seconds(60), every: .milliseconds(200)) {
            let response = try await stack.http.get("\(stack.projectionURL)/orders/\(id)")
            guard response.status == 200, let json = response.json, json["status"] as? String == status else { return false }
            view = json
            return true
        }
        return view
    }
}

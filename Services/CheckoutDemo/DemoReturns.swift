import Foundation

/// The returns scenario: a few checkouts of 3 units each complete, 2 of each come back and are
/// received, and the returns process restocks them and refunds their price. Its checks: every
/// return ended completed (its view and its process), the stock went back up by what came back,
/// the order view shows the refund and the return, and returning more than is left is refused.
struct DemoReturns {
    /// A SKU of its own, so that no other demo order moves its stock between the readings.
    static let sku = "DEMO-RETURNS"
    static let bought = 3
    static let returned = 2

    let checkouts: Int
    let timeout: Int

    func run(api: DemoAPI, report: inout DemoReport) async throws {
        print("demo: returns: \(checkouts) checkouts of \(Self.bought) × \(Self.sku), then \(Self.returned) of each returned and received")
        try await api.restock(Self.sku, checkouts * Self.bought)
        var orderIDs: [String] = []
        for index in 0..<checkouts {
            let order = DemoOrder(customer: "returns-customer-\(index)", scenario: .success, lines: [DemoLine(sku: Self.sku, quantity: Self.bought)])
            orderIDs.append(try await api.placeOrder(order))
        }
        let completed = try await completedCheckouts(orderIDs, api: api)
        report.check(
            "returns: \(checkouts) checkouts of \(Self.bought) × \(Self.sku) completed", completed.count == checkouts,
            detail: "\(completed.count) of \(checkouts) completed")
        guard !completed.isEmpty else { return }

        // Every reservation is committed once the sagas completed; the read model then shows
        // the level the returns start from.
        let store = try await api.stockState(Self.sku)
        let before = try await api.waitForStockView(Self.sku, matching: store)?.onHand

        var returns: [(orderID: String, returnID: String)] = []
        var refusals: [String] = []
        for orderID in completed {
            switch try await api.requestReturn(orderID: orderID, sku: Self.sku, quantity: Self.returned) {
            case .accepted(let returnID):
                try await api.receiveReturn(returnID)
                returns.append((orderID, returnID))
            case .refused(let status, let code, _):
                refusals.append("\(orderID): HTTP \(status) \(code ?? "")")
            }
        }
        try await checkEnds(returns, refusals: refusals, api: api, report: &report)
        try await checkStock(before: before, received: returns.count, api: api, report: &report)
        try await checkOrderViews(returns, api: api, report: &report)
        try await checkOverReturn(returns.map(\.orderID), api: api, report: &report)
    }

    /// The orders whose checkout saga completed, once every saga has ended (or at the timeout).
    private func completedCheckouts(_ orderIDs: [String], api: DemoAPI) async throws -> [String] {
        var ends: [String: String] = [:]
        let deadline = Date().addingTimeInterval(Double(timeout))
        while ends.count < orderIDs.count && Date() < deadline {
            for id in orderIDs where ends[id] == nil {
                if let outcome = try await api.sagaOutcome(id), outcome.state != "running" { ends[id] = outcome.state }
            }
            if ends.count < orderIDs.count { try await Task.sleep(for: .milliseconds(500)) }
        }
        return orderIDs.filter { ends[$0] == "completed" }
    }

    /// Every return was accepted and received, its view says completed with its price refunded,
    /// and its process completed.
    private func checkEnds(_ returns: [(orderID: String, returnID: String)], refusals: [String], api: DemoAPI, report: inout DemoReport) async throws {
        let refund = Self.returned * DemoAPI.unitPriceCents
        var problems = refusals.map { "refused \($0)" }
        var processProblems: [String] = []
        for entry in returns {
            let view = try await api.waitForReturnEnd(entry.returnID)
            if view != DemoAPI.ReturnView(status: "completed", amountCents: refund, refundedCents: refund) {
                problems.append("\(entry.returnID): \(view.map { "\($0.status), amount \($0.amountCents), refunded \($0.refundedCents)" } ?? "never projected")")
            }
            let process = try await api.returnProcessState(entry.returnID)
            if process != "completed" { processProblems.append("\(entry.returnID): \(process ?? "no process")") }
        }
        report.check(
            "returns: \(Self.returned) of \(Self.bought) returned and received, every return completed with \(refund) cents refunded (GET /returns/{id})",
            problems.isEmpty && !returns.isEmpty, detail: problems.isEmpty ? "\(returns.count) returns completed" : problems.prefix(3).joined(separator: "; "))
        report.check(
            "returns: every returns process completed (GET /return-processes/{id})", processProblems.isEmpty && !returns.isEmpty,
            detail: processProblems.prefix(3).joined(separator: "; "))
    }

    /// The returned units are back on hand in the read model (the returns process restocks
    /// them); the restocks and the refund are separate commands, so wait for the level.
    private func checkStock(before: Int?, received: Int, api: DemoAPI, report: inout DemoReport) async throws {
        guard let before else {
            report.check("returns: stock on hand of \(Self.sku) went back up by what was returned", false, detail: "the read model never showed the level before the returns")
            return
        }
        let expected = before + received * Self.returned
        var after = try await api.stockOnHandView(Self.sku)
        for _ in 0..<300 where after != expected {
            try await Task.sleep(for: .milliseconds(200))
            after = try await api.stockOnHandView(Self.sku)
        }
        report.check(
            "returns: stock on hand of \(Self.sku) went back up by \(Self.returned) per return (read model)", after == expected,
            detail: "before \(before), after \(after.map { "\($0)" } ?? "unknown"), expected \(expected)")
    }

    /// Each order view: refundedCents is the returned units' price, and extensions.returns lists
    /// the return as completed with the same refund.
    private func checkOrderViews(_ returns: [(orderID: String, returnID: String)], api: DemoAPI, report: inout DemoReport) async throws {
        let refund = Self.returned * DemoAPI.unitPriceCents
        var problems: [String] = []
        for entry in returns {
            let expected = DemoAPI.OrderRefunds(refundedCents: refund, extensionRefundedCents: refund, returns: [entry.returnID: "completed"])
            let seen = try await api.waitForOrderRefunds(entry.orderID) { $0 == expected }
            if seen != expected {
                problems.append(
                    "\(entry.orderID): \(seen.map { "refundedCents \($0.refundedCents), extensions.returns \($0.returns) refunded \($0.extensionRefundedCents)" } ?? "no view")"
                )
            }
        }
        report.check(
            "returns: each order view shows refundedCents = \(Self.returned) × \(DemoAPI.unitPriceCents) and extensions.returns with the return completed",
            problems.isEmpty && !returns.isEmpty, detail: problems.prefix(3).joined(separator: "; "))
    }

    /// With 1 of 3 left, a return of 2 more is refused with 422 naming the line's quantity.
    private func checkOverReturn(_ orderIDs: [String], api: DemoAPI, report: inout DemoReport) async throws {
        var problems: [String] = []
        for orderID in orderIDs {
            let answer = try await api.requestReturn(orderID: orderID, sku: Self.sku, quantity: Self.returned, reason: "one more time")
            if answer != .refused(status: 422, code: "quantity_exceeds_returnable", field: "lines[0].quantity") {
                problems.append("\(orderID): \(answer)")
            }
        }
        report.check(
            "returns: a return of \(Self.returned) more (\(Self.bought - Self.returned) left) is refused with 422 naming lines[0].quantity",
            problems.isEmpty && !orderIDs.isEmpty, detail: problems.isEmpty ? "\(orderIDs.count) refused" : problems.prefix(3).joined(separator: "; "))
    }
}

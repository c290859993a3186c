import ArgumentParser
import Foundation

/// The main job's driver (run by `scripts/demo` against the local stack): a realistic mix of
/// checkouts through all three services, a poison event parked and replayed, a projector killed
/// mid-run, then a summary of checks. Exits 1 if any check fails.
@main
struct CheckoutDemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkout-demo",
        abstract: "Run checkouts through the running suite and check that everything adds up.")

    @Option(help: "Command service URL.") var commandURL: String
    @Option(help: "Projection service URL (repeat for every instance; the first answers queries).") var projectionURL: [String]
    @Option(help: "Saga orchestrator URL.") var sagaURL: String
    @Option(help: "Admin token of the services.") var token: String
    @Option(help: "How many checkouts.") var orders = 300
    @Option(help: "Shell command that kills one projector, run when a third of the orders are in (empty: none).") var killCommand = ""
    @Option(help: "URL of the projector the kill command stops (checked gone; the first --projection-url must then own every partition).")
    var killedProjectionURL: String?
    @Option(help: "Seconds to wait for every saga to finish.") var timeout = 240
    @Option(help: "Completed checkouts that get a partial return (0: no returns scenario).") var returns = 3

    func validate() throws {
        guard orders >= 10 else { throw ValidationError("--orders must be at least 10 (the mix needs room)") }
        guard !projectionURL.isEmpty else { throw ValidationError("give at least one --projection-url") }
        guard (0...50).contains(returns) else { throw ValidationError("--returns must be 0 to 50") }
    }

    func run() async throws {
        let api = DemoAPI(command: commandURL, projections: projectionURL, saga: sagaURL, token: token)
        let plan = DemoPlan(orders: orders)
        var report = DemoReport()
        let started = Date()

        print("demo: restocking \(plan.skus.count) SKUs")
        for (sku, quantity) in plan.stock { try await api.restock(sku, quantity) }

        print("demo: \(orders) checkouts (\(plan.summary)), poison event on \(DemoPlan.poisonSKU)")
        try await api.setFault(stream: "stock-\(DemoPlan.poisonSKU)", failing: true)
        try await api.restock(DemoPlan.poisonSKU, 3)
        try await api.restock(DemoPlan.poisonSKU, 4)

        let placed = try await placeAll(plan, api: api, report: &report)
        print("demo: all \(placed.count) orders placed; waiting for the sagas")

        let outcomes = try await waitForSagas(placed, api: api)
        report.recordOutcomes(placed, outcomes)

        // The poison event: parked (with the one behind it), then replayed after the "fix".
        let poisonStream = "stock-\(DemoPlan.poisonSKU)"
        let parked = try await api.waitForDeadLetters(stream: poisonStream, count: 2)
        let parkedVersions = try await api.parkedVersions(stream: poisonStream)
        try await api.setFault(stream: poisonStream, failing: false)
        let replay = try await api.replay(projection: "stock-levels", stream: poisonStream)
        report.check(
            "poison event parked with the event behind it, replayed in stream order after the fix",
            parked == 2 && parkedVersions == [1, 2] && replay.applied == parkedVersions && replay.failure == nil,
            detail: "parked versions \(parkedVersions), applied in the order \(replay.applied)")

        if let killed = killedProjectionURL, !killCommand.isEmpty {
            let gone = await api.waitUntilGone(killed, timeout: 10)
            let ownership = try await api.waitUntilFirstOwnsAll(timeout: 60)
            report.check(
                "the killed projector is gone and the survivor owns every partition",
                gone && ownership.listed > 0 && ownership.owned == ownership.listed,
                detail: "\(killed) \(gone ? "gone" : "still answers"); survivor owns \(ownership.owned) of \(ownership.listed) partitions")
        }

        try await checkStock(plan, placed: placed, outcomes: outcomes, api: api, report: &report)
        try await checkReadModels(placed, outcomes: outcomes, api: api, report: &report)
        // Before the lag and dead-letter checks, so that they cover the returns' events too.
        if returns > 0 { try await DemoReturns(checkouts: returns, timeout: timeout).run(api: api, report: &report) }
        let lag = try await api.waitForNoLag(timeout: 60)
        report.check(
            "projection lag drains to 0 on every partition", lag.partitions > 0 && lag.unknown == 0 && lag.lag == 0,
            detail: "lag \(lag.lag) over \(lag.partitions) partitions, \(lag.unknown) with no known lag")
        let remaining = try await api.parkedCount()
        report.check("no dead letter left parked", remaining == 0, detail: "\(remaining) parked")

        report.print(elapsed: Date().timeIntervalSince(started))
        if !report.passed { throw ExitCode(1) }
    }

    /// Places every order from 20 concurrent clients; runs the kill command a third of the way in.
    private func placeAll(_ plan: DemoPlan, api: DemoAPI, report: inout DemoReport) async throws -> [DemoOrder] {
        let killAt = plan.orders.count / 3
        let killCommand = self.killCommand
        let results = try await withThrowingTaskGroup(of: [DemoOrder].self) { group in
            for client in 0..<20 {
                group.addTask {
                    var mine: [DemoOrder] = []
                    for index in stride(from: client, to: plan.orders.count, by: 20) {
                        if index == killAt && !killCommand.isEmpty { try DemoShell.run(killCommand) }
                        var order = plan.orders[index]
                        order.id = try await api.placeOrder(order)
                        mine.append(order)
                    }
                    return mine
                }
            }
            var all: [DemoOrder] = []
            for try await chunk in group { all += chunk }
            return all
        }
        if !killCommand.isEmpty { report.notes.append("killed a projector (SIGKILL) after \(killAt) orders: \(killCommand)") }
        return results
    }

    private func waitForSagas(_ orders: [DemoOrder], api: DemoAPI) async throws -> [String: DemoAPI.SagaOutcome] {
        var outcomes: [String: DemoAPI.SagaOutcome] = [:]
        let deadline = Date().addingTimeInterval(Double(timeout))
        while Date() < deadline {
            for order in orders where outcomes[order.id] == nil {
                if let outcome = try await api.sagaOutcome(order.id), outcome.state != "running" { outcomes[order.id] = outcome }
            }
            if outcomes.count == orders.count { return outcomes }
            try await Task.sleep(for: .seconds(1))
        }
        return outcomes
    }

    /// Every SKU: on hand = restocked − committed by completed checkouts; nothing reserved;
    /// the projection's numbers equal the event store's.
    private func checkStock(
        _ plan: DemoPlan, placed: [DemoOrder], outcomes: [String: DemoAPI.SagaOutcome], api: DemoAPI, report: inout DemoReport
    ) async throws {
        var expected = plan.stock
        for order in placed where outcomes[order.id]?.state == "completed" {
            for line in order.lines { expected[line.sku, default: 0] -= line.quantity }
        }
        expected[DemoPlan.poisonSKU] = 7
        var mismatches: [String] = []
        var settledTwice: [String] = []
        for (sku, onHand) in expected.sorted(by: { $0.key < $1.key }) {
            let store = try await api.stockState(sku)
            let view = try await api.waitForStockView(sku, matching: store)
            if store.onHand != onHand || store.reserved != 0 { mismatches.append("\(sku): event store on hand \(store.onHand) (expected \(onHand)), reserved \(store.reserved)") }
            if view == nil { mismatches.append("\(sku): the read model never caught up with the event store") }
            // Per order, from the SKU's events: at most one reservation, and at most one of
            // released or committed.
            var reservations: [String: Int] = [:]
            var settlements: [String: Int] = [:]
            for event in try await api.stockEvents(sku) {
                guard let order = event.orderID else { continue }
                switch event.type {
                case "StockReserved": reservations[order, default: 0] += 1
                case "StockReleased", "StockCommitted": settlements[order, default: 0] += 1
                default: break
                }
            }
            for (order, count) in reservations where count > 1 { settledTwice.append("\(sku): order \(order) reserved \(count) times") }
            for (order, count) in settlements where count > 1 { settledTwice.append("\(sku): order \(order) released or committed \(count) times") }
        }
        report.check(
            "stock balances for \(expected.count) SKUs in the event store and the read model; nothing left reserved",
            mismatches.isEmpty, detail: mismatches.prefix(3).joined(separator: "; "))
        report.check(
            "no order reserved, released or committed twice on any SKU (read from the SKUs' events)",
            settledTwice.isEmpty, detail: settledTwice.prefix(3).joined(separator: "; "))
    }

    /// Every order's read model says what its saga did, with the reason for a cancellation.
    private func checkReadModels(_ placed: [DemoOrder], outcomes: [String: DemoAPI.SagaOutcome], api: DemoAPI, report: inout DemoReport) async throws {
        var mismatches: [String] = []
        for order in placed {
            guard let outcome = outcomes[order.id] else { continue }
            let expected = outcome.state == "completed" ? "confirmed" : "cancelled"
            let logged = try await api.orderState(order.id)
            let view = try await api.waitForOrderStatus(order.id, expected)
            if logged != expected || view == nil {
                mismatches.append("\(order.id): saga \(outcome.state), event store \(logged ?? "-"), read model \(view ?? "never \(expected)")")
            }
        }
        report.check("read models agree with the event log (and the sagas) for \(placed.count) orders", mismatches.isEmpty, detail: mismatches.prefix(3).joined(separator: "; "))
    }
}

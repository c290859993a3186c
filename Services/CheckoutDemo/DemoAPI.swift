import Foundation
import JSONClient

/// The HTTP calls the demo makes, as a client and as an operator would.
struct DemoAPI: Sendable {
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    struct SagaOutcome: Sendable, Equatable {
        var state: String
        var step: String
        var reason: String?
    }

    let command: String
    let projections: [String]
    let saga: String
    let client: JSONClient

    /// Every line of every demo order costs this per unit (the returns' refunds are checked by it).
    static let unitPriceCents = 1_250

    init(command: String, projections: [String], saga: String, token: String) {
        self.command = command
        self.projections = projections
        self.saga = saga
        client = JSONClient(.init(bearerToken: token, headers: ["X-Operator": "checkout-demo"], timeout: .seconds(30)))
    }

    var projection: String { projections[0] }

    // MARK: - As a client

    func restock(_ sku: String, _ quantity: Int) async throws {
        _ = try await expect(200, .post, "\(command)/stock/\(sku)/restock", ["quantity": quantity])
    }

    func placeOrder(_ order: DemoOrder) async throws -> String {
        let body: [String: Any] = [
            "customerId": order.customer, "paymentMethod": order.scenario.paymentMethod,
            "lines": order.lines.map { ["sku": $0.sku, "quantity": $0.quantity, "unitPriceCents": Self.unitPriceCents] },
        ]
        let answer = try await expect(201, .post, "\(command)/orders", body)
        guard let id = answer["orderId"] as? String else { throw Failed(description: "no orderId in \(answer)") }
        if order.scenario == .customerCancel { try await cancelWhenAuthorizing(id) }
        return id
    }

    /// The customer cancels while the saga waits for the (silent) payment.
    func cancelWhenAuthorizing(_ orderID: String) async throws {
        for _ in 0..<200 {
            if let outcome = try await sagaOutcome(orderID), outcome.step == "authorizing" || outcome.state != "running" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = try await send(.post, "\(command)/orders/\(orderID)/cancel", ["reason": "changed my mind"])
    }

    func stockState(_ sku: String) async throws -> (onHand: Int, reserved: Int) {
        let answer = try await expect(200, .get, "\(command)/streams/stock-\(sku)/state")
        let state = answer["state"] as? [String: Any] ?? [:]
        let reservations = state["reservations"] as? [String: Int] ?? [:]
        return (state["onHand"] as? Int ?? -1, reservations.values.reduce(0, +))
    }

    /// The read model's stock once it equals the event store's; nil if it never does in 60 s.
    func waitForStockView(_ sku: String, matching store: (onHand: Int, reserved: Int)) async throws -> (onHand: Int, reserved: Int)? {
        for _ in 0..<300 {
            let (status, answer) = try await send(.get, "\(projection)/stock/\(sku)")
            if status == 200, answer["onHand"] as? Int == store.onHand, answer["reserved"] as? Int == store.reserved { return store }
            try await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }

    /// The order's status as the event store folds it (`pending`, `confirmed`, `cancelled`).
    func orderState(_ orderID: String) async throws -> String? {
        let answer = try await expect(200, .get, "\(command)/streams/order-\(orderID)/state")
        return (answer["state"] as? [String: Any])?["status"] as? String
    }

    func waitForOrderStatus(_ orderID: String, _ status: String) async throws -> String? {
        for _ in 0..<150 {
            let (code, answer) = try await send(.get, "\(projection)/orders/\(orderID)")
            if code == 200, answer["status"] as? String == status { return status }
            try await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }

    func sagaOutcome(_ orderID: String) async throws -> SagaOutcome? {
        let (status, answer) = try await send(.get, "\(saga)/sagas/\(orderID)")
        guard status == 200, let state = answer["state"] as? String else { return nil }
        let reason = (answer["data"] as? [String: Any])?["reason"] as? String
        return SagaOutcome(state: state, step: answer["step"] as? String ?? "", reason: reason)
    }

    // MARK: - As an operator

    /// The drill hook, on every projector still running (each has its own switch; the killed
    /// one is gone, and so is its switch).
    func setFault(stream: String, failing: Bool) async throws {
        var reached = 0
        for base in projections {
            guard let (status, _) = try? await send(.post, "\(base)/admin/faults", ["stream": stream, "enabled": failing], admin: true) else { continue }
            guard status == 200 else { throw Failed(description: "POST \(base)/admin/faults: HTTP \(status)") }
            reached += 1
        }
        guard reached > 0 else { throw Failed(description: "no projection service answered") }
    }

    func waitForDeadLetters(stream: String, count: Int) async throws -> Int {
        var seen = 0
        for _ in 0..<300 {
            let (status, data) = try await raw(.get, "\(projection)/admin/dead-letters?stream=\(stream)", nil, admin: true)
            let letters = status == 200 ? (try? JSONSerialization.jsonObject(with: data)) as? [Any] ?? [] : []
            seen = letters.count
            if seen >= count { return seen }
            try await Task.sleep(for: .milliseconds(200))
        }
        return seen
    }

    func replay(projection name: String, stream: String) async throws -> (replayed: Int, applied: [Int], failure: String?) {
        let answer = try await expect(200, .post, "\(projection)/admin/dead-letters/replay", ["projection": name, "stream": stream], admin: true)
        return (answer["replayed"] as? Int ?? 0, answer["appliedVersions"] as? [Int] ?? [], answer["failure"] as? String)
    }

    /// Versions of the stream's parked letters, in stream order.
    func parkedVersions(stream: String) async throws -> [Int] {
        let (status, data) = try await raw(.get, "\(projection)/admin/dead-letters?stream=\(stream)&status=parked", nil, admin: true)
        guard status == 200, let letters = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else { return [] }
        return letters.compactMap { $0["streamVersion"] as? Int }.sorted()
    }

    /// The SKU's stock events: type and order id, in stream order.
    func stockEvents(_ sku: String) async throws -> [(type: String, orderID: String?, quantity: Int)] {
        let answer = try await expect(200, .get, "\(command)/streams/stock-\(sku)/events")
        return (answer["events"] as? [[String: Any]] ?? []).map { event in
            let data = event["data"] as? [String: Any] ?? [:]
            return (event["type"] as? String ?? "?", data["orderId"] as? String, data["quantity"] as? Int ?? 0)
        }
    }

    /// True once `url` no longer answers (the process is gone), within `timeout` seconds.
    func waitUntilGone(_ url: String, timeout: Int) async -> Bool {
        for _ in 0..<(timeout * 5) {
            if (try? await send(.get, "\(url)/health/live")) == nil { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// Partitions the first projector lists and how many of them it owns, once it owns all
    /// (or after `timeout` seconds).
    func waitUntilFirstOwnsAll(timeout: Int) async throws -> (listed: Int, owned: Int) {
        var result = (listed: 0, owned: 0)
        for _ in 0..<(timeout * 2) {
            let answer = try await expect(200, .get, "\(projection)/projections")
            let partitions = answer["partitions"] as? [[String: Any]] ?? []
            result = (partitions.count, partitions.filter { $0["ownedHere"] as? Bool == true }.count)
            if result.listed > 0 && result.owned == result.listed { return result }
            try await Task.sleep(for: .milliseconds(500))
        }
        return result
    }

    func parkedCount() async throws -> Int {
        let answer = try await expect(200, .get, "\(projection)/projections")
        return (answer["projections"] as? [[String: Any]] ?? []).compactMap { $0["parkedDeadLetters"] as? Int }.reduce(0, +)
    }

    /// Total lag over the partitions whose lag is known, and how many partitions have no known
    /// lag (no end offset seen yet): once every partition is known and the total is 0, or after
    /// `timeout` seconds. An unknown lag is not a lag of 0.
    func waitForNoLag(timeout: Int) async throws -> (lag: Int, unknown: Int, partitions: Int) {
        var result = (lag: -1, unknown: 0, partitions: 0)
        for _ in 0..<(timeout * 2) {
            let answer = try await expect(200, .get, "\(projection)/projections")
            let partitions = answer["partitions"] as? [[String: Any]] ?? []
            let known = partitions.compactMap { $0["lag"] as? Int }
            result = (known.reduce(0, +), partitions.count - known.count, partitions.count)
            if result.partitions > 0 && result.unknown == 0 && result.lag == 0 { return result }
            try await Task.sleep(for: .milliseconds(500))
        }
        return result
    }

    // MARK: - HTTP (also for the returns calls, DemoAPI+Returns.swift)

    func expect(_ status: Int, _ method: JSONClient.Method, _ url: String, _ body: [String: Any]? = nil, admin: Bool = false) async throws -> [String: Any] {
        let (code, answer) = try await send(method, url, body, admin: admin)
        guard code == status else { throw Failed(description: "\(method) \(url): HTTP \(code) \(answer)") }
        return answer
    }

    func send(_ method: JSONClient.Method, _ url: String, _ body: [String: Any]? = nil, admin: Bool = false) async throws -> (Int, [String: Any]) {
        let (status, data) = try await raw(method, url, body, admin: admin)
        return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }

    func raw(_ method: JSONClient.Method, _ url: String, _ body: [String: Any]?, admin: Bool) async throws -> (Int, Data) {
        let response = try await client.send(method, url, body: try body.map(JSONBody.object), authorized: admin)
        return (response.status, response.body)
    }
}

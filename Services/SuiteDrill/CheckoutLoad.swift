import Foundation
import JSONClient
import Synchronization

/// Steady checkouts, open loop: one every 1/rate s whether or not the earlier ones finished, as
/// customers arrive. A placement that gets no answer (service down or paused) or a 5xx is
/// retried with the same Idempotency-Key, as a careful client does, so a crash between the
/// append and the response must not create a second order.
final class CheckoutLoad: Sendable {
    struct Tally: Sendable, Equatable {
        var attempted = 0
        var accepted = 0
        /// A 4xx: the suite refused the request itself (never expected from the drill's input).
        var rejected = 0
        /// No answer within the client's patience: the checkout may or may not have started.
        var gaveUp = 0
        /// Still unanswered when the load stopped (the answer may have been lost, not the order).
        var abandoned = 0
        var retried = 0
    }

    /// Which outcome a checkout is meant to reach: most complete, the rest compensate.
    enum Scenario: Sendable {
        case success, declined, outOfStock, silentGateway

        /// One in 20 declined, one in 20 for a SKU out of stock, one in 20 to a gateway that never
        /// answers (compensated at the payment deadline), the rest succeed.
        init(index: Int) {
            switch index % 20 {
            case 5: self = .declined
            case 11: self = .outOfStock
            case 17: self = .silentGateway
            default: self = .success
            }
        }
    }

    static let skus = (1...8).map { "drill-sku-\($0)" }
    static let scarceSKU = "drill-scarce"

    private let http: JSONClient
    private let commandURL: String
    /// Returns part of a share of the completed checkouts (nil: none).
    private let returns: ReturnLoad?
    private let patience: Duration
    private let tally = Mutex(Tally())

    init(http: JSONClient, commandURL: String, returns: ReturnLoad? = nil, patience: Duration = .seconds(90)) {
        self.http = http
        self.commandURL = commandURL
        self.returns = returns
        self.patience = patience
    }

    var current: Tally { tally.withLock { $0 } }

    /// Stock for the run: plenty of every SKU, one unit of the scarce one.
    func restock() async throws {
        for sku in Self.skus {
            try await http.post("\(commandURL)/stock/\(sku)/restock", body: JSONBody(raw: #"{"quantity":1000000}"#)).requireSuccess()
        }
        try await http.post("\(commandURL)/stock/\(Self.scarceSKU)/restock", body: JSONBody(raw: #"{"quantity":1}"#)).requireSuccess()
    }

    /// Places checkouts at `rate` per second until cancelled; returns when the last one placed
    /// has its answer.
    func run(rate: Double) async {
        let interval = Duration.nanoseconds(Int64(1_000_000_000 / max(rate, 0.1)))
        await withDiscardingTaskGroup { group in
            var index = 0
            var next = ContinuousClock.now
            while !Task.isCancelled {
                let number = index
                group.addTask {
                    let scenario = Scenario(index: number)
                    guard let orderID = await self.place(number, scenario: scenario) else { return }
                    // In the checkout's own task, so that stopping the load stops its return too.
                    if let returns = self.returns, ReturnLoad.isChosen(number, scenario: scenario) {
                        await returns.returnPart(of: orderID, sku: Self.sku(index: number, scenario: scenario))
                    }
                }
                index += 1
                next += interval
                try? await Task.sleep(until: next)
            }
        }
    }

    /// Places one checkout, retrying without an answer; its order id once accepted.
    func place(_ index: Int, scenario: Scenario) async -> String? {
        tally.withLock { $0.attempted += 1 }
        let sku = Self.sku(index: index, scenario: scenario)
        let method =
            switch scenario {
            case .declined: "card-declined"
            case .silentGateway: "card-silent"
            case .success, .outOfStock: "card"
            }
        let body = """
            {"customerId":"drill-customer-\(index % 50)","paymentMethod":"\(method)",\
            "lines":[{"sku":"\(sku)","quantity":\(1 + index % 3),"unitPriceCents":1250}]}
            """
        let key = UUID().uuidString
        let deadline = ContinuousClock.now + patience
        var attempt = 0
        while ContinuousClock.now < deadline {
            if Task.isCancelled {
                tally.withLock { $0.abandoned += 1 }
                return nil
            }
            if attempt > 0 {
                tally.withLock { $0.retried += 1 }
                try? await Task.sleep(for: .milliseconds(min(200 * attempt, 2_000)))
            }
            attempt += 1
            guard let answer = try? await http.post("\(commandURL)/orders", body: JSONBody(raw: body), idempotencyKey: key) else { continue }
            if answer.status >= 500 { continue }
            if (200..<300).contains(answer.status), let id = answer.json?["orderId"] as? String {
                tally.withLock { $0.accepted += 1 }
                return id
            }
            tally.withLock { $0.rejected += 1 }
            return nil
        }
        tally.withLock { $0.gaveUp += 1 }
        return nil
    }

    /// The SKU a checkout buys (`quantity` 1 + index mod 3 of it).
    static func sku(index: Int, scenario: Scenario) -> String {
        scenario == .outOfStock ? scarceSKU : skus[index % skus.count]
    }
}

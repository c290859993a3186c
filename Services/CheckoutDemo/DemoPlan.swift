/// What the demo orders: a fixed, realistic mix.
enum Scenario: String, CaseIterable, Sendable {
    case success = "success"
    case outOfStock = "out of stock"
    case declined = "payment declined"
    case silent = "silent gateway"
    case customerCancel = "customer cancels"

    var paymentMethod: String {
        switch self {
        case .success, .outOfStock: "card"
        case .declined: "card-declined"
        case .silent, .customerCancel: "card-silent"
        }
    }

    /// The saga's documented end, and words its reason must contain.
    var expected: (state: String, reason: String?) {
        switch self {
        case .success: ("completed", nil)
        case .outOfStock: ("compensated", "out of stock")
        case .declined: ("compensated", "payment declined")
        case .silent: ("compensated", "did not answer")
        case .customerCancel: ("compensated", "cancelled by the customer")
        }
    }
}

struct DemoLine: Sendable {
    var sku: String
    var quantity: Int
}

struct DemoOrder: Sendable {
    var id = ""
    var customer: String
    var scenario: Scenario
    var lines: [DemoLine]
}

struct DemoPlan: Sendable {
    static let poisonSKU = "DEMO-POISON"

    let skus = (1...10).map { "DEMO-\($0)" }
    let stock: [String: Int]
    let orders: [DemoOrder]

    init(orders count: Int) {
        let skus = self.skus
        stock = Dictionary(uniqueKeysWithValues: skus.map { ($0, 100) })
        orders = (0..<count).map { index in
            let scenario: Scenario =
                switch index % 20 {
                case 12, 13: .outOfStock
                case 14, 15: .declined
                case 16, 17: .silent
                case 18: .customerCancel
                default: .success
                }
            let first = skus[index % skus.count]
            let second = skus[(index * 7 + 3) % skus.count]
            let lines =
                scenario == .outOfStock
                ? [DemoLine(sku: first, quantity: 1), DemoLine(sku: second, quantity: 10_000)]
                : [DemoLine(sku: first, quantity: 1 + index % 2), DemoLine(sku: second, quantity: 1)]
            return DemoOrder(customer: "customer-\(index % 25)", scenario: scenario, lines: lines)
        }
    }

    var summary: String {
        Scenario.allCases.map { scenario in "\(orders.filter { $0.scenario == scenario }.count) \(scenario.rawValue)" }.joined(separator: ", ")
    }
}

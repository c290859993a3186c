/// The most recently settled orders of one SKU, oldest forgotten first, so that a SKU's state
/// (and its snapshot) stays bounded however many orders it has served.
///
/// Remembering is what refuses a reservation that arrives after its order's release was
/// settled (compensation raced ahead). One that arrives after the order was forgotten is
/// reserved, and the checkout saga, which has let go of that SKU, releases it again
/// (`CheckoutSaga`, "a reservation after the saga let go"): stock still balances, one step later.
/// Encoded as a JSON array, oldest first, as the unbounded set it replaces was.
public struct RecentOrders: Codable, Sendable, Equatable {
    /// How many settled orders a SKU remembers: far more than can be in flight for one SKU
    /// between a release and a late reservation of the same order.
    public static let capacity = 1_000

    public private(set) var ordered: [String] = []
    private var members: Set<String> = []

    public init() {}

    public func contains(_ orderID: String) -> Bool { members.contains(orderID) }

    public var count: Int { ordered.count }
    public var isEmpty: Bool { ordered.isEmpty }

    public mutating func insert(_ orderID: String) {
        guard members.insert(orderID).inserted else { return }
        ordered.append(orderID)
        if ordered.count > Self.capacity {
            // Amortised: drop a tenth at once instead of shifting the array on every insert.
            let dropped = ordered.prefix(Self.capacity / 10)
            members.subtract(dropped)
            ordered.removeFirst(dropped.count)
        }
    }

    public init(from decoder: any Decoder) throws {
        let orders = try decoder.singleValueContainer().decode([String].self)
        for order in orders.suffix(Self.capacity) { insert(order) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(ordered)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.ordered == rhs.ordered }
}

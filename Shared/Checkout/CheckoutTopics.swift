/// Where each stream type's events are published (DESIGN.md topics).
public enum CheckoutTopics {
    /// Commands from the saga to the command service, keyed by the target stream.
    public static let commands = "checkout.commands"
    public static let eventTopics = ["checkout.orders.events", "checkout.stock.events", "checkout.payments.events"]

    public static func topic(forStreamType type: String) -> String {
        switch type {
        case Order.category: "checkout.orders.events"
        case Stock.category: "checkout.stock.events"
        case Payment.category: "checkout.payments.events"
        default: "checkout.\(type).events"
        }
    }
}

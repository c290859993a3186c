/// Where each stream type's events are published (DESIGN.md topics).
public enum CheckoutTopics {
    public static func topic(forStreamType type: String) -> String {
        switch type {
        case Order.category: "checkout.orders.events"
        case Stock.category: "checkout.stock.events"
        case Payment.category: "checkout.payments.events"
        default: "checkout.\(type).events"
        }
    }
}

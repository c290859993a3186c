/// The suite's Kafka topics (DESIGN.md). Partition counts are configurable; 12 by default.
public enum SuiteTopics {
    public static let orderEvents = "checkout.orders.events"
    public static let stockEvents = "checkout.stock.events"
    public static let paymentEvents = "checkout.payments.events"
    public static let commands = "checkout.commands"
    public static let deadLetters = "checkout.deadletter"

    public static let all = [orderEvents, stockEvents, paymentEvents, commands, deadLetters]
    public static let defaultPartitions = 12
}

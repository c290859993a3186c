import Checkout
public import ServiceSupport

/// Every name the checkout suite gives its infrastructure, in one place: Kafka topics, consumer
/// groups and PostgreSQL roles. The services, kafka-dev, the tests and `scripts/check-topology`
/// read them here; the generic libraries (event store, consumer runtime, projections, sagas,
/// service support) take them as parameters and name nothing of checkout.
public enum CheckoutNames {
    public enum Topics {
        public static let orderEvents = "checkout.orders.events"
        public static let stockEvents = "checkout.stock.events"
        public static let paymentEvents = "checkout.payments.events"
        public static let customerEvents = "checkout.customers.events"
        /// Commands from the saga to the command service, keyed by the target stream.
        public static let commands = "checkout.commands"
        public static let deadLetters = "checkout.deadletter"

        /// Every event topic: what the projection service consumes.
        public static let events = [orderEvents, stockEvents, paymentEvents, customerEvents]
        /// What the checkout saga reacts to (a customer's events concern no checkout).
        public static let sagaEvents = [orderEvents, stockEvents, paymentEvents]
        /// What kafka-dev and the compose topic job create.
        public static let all = events + [commands, deadLetters]
        public static let defaultPartitions = 12

        /// Where each stream type's events are published.
        public static func topic(forStreamType type: String) -> String {
            switch type {
            case Order.category: orderEvents
            case Stock.category: stockEvents
            case Payment.category: paymentEvents
            case Customer.category: customerEvents
            default: "checkout.\(type).events"
            }
        }
    }

    /// Consumer groups (a projection processor's group is also its checkpoint key).
    public enum Groups {
        public static let readModels = "checkout-read-models"
        public static let commands = "command-service"
        public static let saga = "saga-orchestrator"
    }

    /// Each service's own PostgreSQL role.
    public static let roles = ServiceRoles(
        commandService: "checkout_command_service", projectionService: "checkout_projection_service",
        sagaOrchestrator: "checkout_saga_orchestrator")
}

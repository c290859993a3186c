import BoundedContexts
import CheckoutContext
public import ServiceSupport

/// The suite's infrastructure names as tests, benchmarks and the drill spell them, all
/// derived from `checkoutSuite` (nothing is spelled twice).
public enum CheckoutNames {
    public enum Topics {
        public static let orderEvents = topic("order")
        public static let stockEvents = topic("stock")
        public static let paymentEvents = topic("payment")
        public static let customerEvents = topic("customer")
        public static let commands = checkoutSuite.commandTopic(of: "checkout")
        public static let deadLetters = checkoutSuite.deadLetterTopic

        /// Every event topic: what the projection service consumes.
        public static let events = checkoutSuite.eventTopics
        /// What the checkout saga reacts to.
        public static let sagaEvents = checkoutSuite.contexts.flatMap(\.sagas).first.map { checkoutSuite.topics(of: $0) } ?? []
        /// What kafka-dev and the compose topic job create.
        public static let all = SuiteTopology(checkoutSuite).topics.map(\.name)
        public static let defaultPartitions = checkoutSuite.partitions

        /// Where each stream type's events are published.
        public static func topic(forStreamType type: String) -> String { checkoutSuite.eventTopic(type) }

        private static func topic(_ category: String) -> String { checkoutSuite.eventTopic(category) }
    }

    public enum Groups {
        public static let readModels = checkoutSuite.readModelGroup
        public static let commands = Suite.commandGroup
        public static let saga = checkoutSuite.contexts.flatMap(\.sagas).first.map { checkoutSuite.group(of: $0) } ?? ""
    }

    public static let roles = checkoutSuite.roles
}

public import BoundedContexts
import CheckoutContext
import ReturnsContext

/// The suite this repository deploys: its name (which prefixes its database roles, its
/// read-model group and its dead-letter topic, and names its database) and its bounded
/// contexts. Registering a context is one line here; every service, kafka-dev, suite-check
/// and `suitectl topology` follow this list.
public let checkoutSuite = Suite(
    name: "checkout",
    contexts: [
        .checkout,
        .returns,
    ])

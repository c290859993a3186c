import Checkout
import Foundation
import ServiceSupport

/// The orchestrator's own settings: the checkout saga's deadlines and retries.
///   SAGA_STEP_DEADLINE_MS     how long a step waits for its replies (default 10000)
///   SAGA_PAYMENT_DEADLINE_MS  the payment step's deadline (default 10000, at most 30000)
///   SAGA_MAX_RETRIES          how often a step's commands are sent again before giving up (default 2)
enum CheckoutSagaSettings {
    static func timeouts(from environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> CheckoutSaga.Timeouts {
        var timeouts = CheckoutSaga.Timeouts()
        timeouts.step = .milliseconds(try integerSetting("SAGA_STEP_DEADLINE_MS", in: environment, default: 10_000, range: 100...3_600_000))
        timeouts.payment = .milliseconds(try integerSetting("SAGA_PAYMENT_DEADLINE_MS", in: environment, default: 10_000, range: 100...30_000))
        timeouts.retries = try integerSetting("SAGA_MAX_RETRIES", in: environment, default: 2, range: 0...100)
        return timeouts
    }
}

import BoundedContexts
import CheckoutSuite
import ServiceHTTP
import SuiteTelemetry

@main
enum SagaOrchestratorMain {
    static func main() async { await SuiteService.run(.sagaOrchestrator, suite: checkoutSuite, tracing: .openTelemetry) }
}

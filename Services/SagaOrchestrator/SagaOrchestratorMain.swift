import BoundedContexts
import CheckoutSuite

@main
enum SagaOrchestratorMain {
    static func main() async { await SuiteService.run(.sagaOrchestrator, suite: checkoutSuite) }
}

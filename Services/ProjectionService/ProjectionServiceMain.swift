import BoundedContexts
import CheckoutSuite
import ServiceHTTP
import SuiteTelemetry

@main
enum ProjectionServiceMain {
    static func main() async { await SuiteService.run(.projectionService, suite: checkoutSuite, tracing: .openTelemetry) }
}

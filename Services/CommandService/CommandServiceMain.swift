import BoundedContexts
import CheckoutSuite
import ServiceHTTP
import SuiteTelemetry

@main
enum CommandServiceMain {
    static func main() async { await SuiteService.run(.commandService, suite: checkoutSuite, tracing: .openTelemetry) }
}

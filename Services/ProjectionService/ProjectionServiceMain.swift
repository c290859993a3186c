import BoundedContexts
import CheckoutSuite

@main
enum ProjectionServiceMain {
    static func main() async { await SuiteService.run(.projectionService, suite: checkoutSuite) }
}

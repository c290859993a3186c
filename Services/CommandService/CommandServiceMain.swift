import BoundedContexts
import CheckoutSuite

@main
enum CommandServiceMain {
    static func main() async { await SuiteService.run(.commandService, suite: checkoutSuite) }
}

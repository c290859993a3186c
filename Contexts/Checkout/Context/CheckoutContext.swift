public import BoundedContexts
import Checkout
import EventSourcing
import CheckoutReadModels
import Foundation

extension BoundedContext {
    /// Checkout, the reference context: orders, stock per SKU, payments and customers'
    /// erasure; the checkout saga (reserve, pay, commit, confirm, or compensate); the order
    /// summary, stock levels and customers' orders read models; the invariants a run must keep.
    public static let checkout = BoundedContext(
        name: "checkout",
        streams: [
            StreamType(category: Order.category, topic: "checkout.orders.events", codec: Order.codec, examples: examples(Order.category)),
            StreamType(
                category: Stock.category, topic: "checkout.stock.events", codec: Stock.codec, examples: examples(Stock.category),
                snapshotEvery: Stock.snapshotEvery),
            StreamType(category: Payment.category, topic: "checkout.payments.events", codec: Payment.codec, examples: examples(Payment.category)),
            StreamType(category: Customer.category, topic: "checkout.customers.events", codec: Customer.codec, examples: examples(Customer.category)),
        ],
        commands: CommandSide { environment in
            let commands = CheckoutCommands(store: environment.store, vault: environment.vault, cache: environment.cache)
            return CommandPart(
                routes: { routes in
                    CheckoutCommandRoutes(commands: commands).register(on: routes)
                    CustomerRoutes(commands: commands, logger: environment.logger).register(on: routes.admin("/customers"))
                },
                channel: CheckoutCommandChannel.reader(commands),
                states: [
                    Order.category: StreamStateReader { commands.order($0) }, Stock.category: StreamStateReader { commands.stock($0) },
                    Payment.category: StreamStateReader { commands.payment($0) }, Customer.category: StreamStateReader { commands.customer($0) },
                ])
        },
        readModels: ReadModelSide(readModels: CheckoutReadModels.all) { routes, environment in
            CheckoutQueryRoutes(queries: ReadModelQueries(client: environment.client, logger: environment.logger), environment: environment)
                .register(on: routes)
        },
        sagas: [
            SagaSide(
                // The group predates contexts: kept, so that an upgraded orchestrator resumes
                // from the committed offsets.
                name: "checkout", reactsTo: [Order.category, Stock.category, Payment.category], group: "saga-orchestrator", path: "/sagas",
                idParameter: "orderId", commandTypes: CheckoutCommandMessage.Kind.allCases.map(\.rawValue)
            ) { commandTopic in
                CheckoutSaga(timeouts: try CheckoutSagaSettings.timeouts(), commandTopic: commandTopic("checkout"))
            }
        ],
        invariants: { _ in [StockBalances(), EffectsOnce(), OutcomesAgree()] },
        openAPI: [
            .commandService: PackageResources.command_service_json, .projectionService: PackageResources.projection_service_json,
            .sagaOrchestrator: PackageResources.saga_orchestrator_json,
        ])

    private static func examples(_ streamType: String) -> [EventExample] {
        EventExamples.all.filter { $0.streamType == streamType }
    }
}

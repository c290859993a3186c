import Checkout
import EventSourcing
import EventStore

/// The command side of the checkout domain: one handler per stream type, sharing the store
/// and one cache of recently decided streams (a command on a stream decided a moment ago, as
/// every step of a checkout is, does not read the stream again).
struct CheckoutCommands: Sendable {
    let store: PostgresEventStore
    let vault: PersonalDataVault
    let cache: StreamStateCache

    /// The vault defaults to the key table of the store's own database.
    init(store: PostgresEventStore, vault: PersonalDataVault? = nil, cache: StreamStateCache = StreamStateCache()) {
        self.store = store
        self.vault = vault ?? PersonalDataVault(client: store.client, logger: store.logger)
        self.cache = cache
    }

    func order(_ orderID: String) -> CommandHandler<OrderCommand, OrderState, OrderEvent> {
        CommandHandler(decider: Order.decider(orderID: orderID), codec: Order.codec, store: store, cache: cache)
    }

    func stock(_ sku: String) -> CommandHandler<StockCommand, StockState, StockEvent> {
        CommandHandler(
            decider: Stock.decider(sku: sku), codec: Stock.codec, store: store, snapshotEvery: Stock.snapshotEvery, stateSchema: Stock.stateSchema,
            cache: cache)
    }

    func customer(_ customerID: String) -> CommandHandler<CustomerCommand, CustomerState, CustomerEvent> {
        CommandHandler(decider: Customer.decider(customerID: customerID), codec: Customer.codec, store: store, cache: cache)
    }

    func payment(_ orderID: String) -> CommandHandler<PaymentCommand, PaymentState, PaymentEvent> {
        CommandHandler(decider: Payment.decider(orderID: orderID), codec: Payment.codec, store: store, stateSchema: Payment.stateSchema, cache: cache)
    }
}

import Checkout
import EventSourcing
import EventStore

/// The command side of the checkout domain: one handler per stream type, sharing the store.
struct CheckoutCommands: Sendable {
    let store: PostgresEventStore

    init(store: PostgresEventStore) {
        self.store = store
    }

    func order(_ orderID: String) -> CommandHandler<OrderCommand, OrderState, OrderEvent> {
        CommandHandler(decider: Order.decider(orderID: orderID), codec: Order.codec, store: store)
    }

    /// Stock streams are long (every reservation of a SKU): snapshot every 100 events.
    func stock(_ sku: String) -> CommandHandler<StockCommand, StockState, StockEvent> {
        CommandHandler(decider: Stock.decider(sku: sku), codec: Stock.codec, store: store, snapshotEvery: 100)
    }

    func payment(_ orderID: String) -> CommandHandler<PaymentCommand, PaymentState, PaymentEvent> {
        CommandHandler(decider: Payment.decider(orderID: orderID), codec: Payment.codec, store: store)
    }
}

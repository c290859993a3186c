public import Projections
import ServiceSupport

extension CheckoutReadModels {
    /// Order summaries and each order's timeline.
    public static let orderSummary = ReadModel(
        OrderSummaryProjection(),
        migrations: [
            // IF NOT EXISTS: databases from before read models numbered their own migrations
            // have these tables already.
            Migration(
                version: 1, name: "orders and order timeline",
                statements: [
                    """
                    CREATE TABLE IF NOT EXISTS read_models.orders (
                        order_id text PRIMARY KEY, customer_id text NOT NULL, status text NOT NULL, lines jsonb NOT NULL,
                        total_cents bigint NOT NULL, payment_method text NOT NULL, cancellation_reason text,
                        placed_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, correlation_id text NOT NULL)
                    """,
                    // What happened to an order and why, from every stream that mentions it.
                    """
                    CREATE TABLE IF NOT EXISTS read_models.order_timeline (
                        order_id text NOT NULL, stream_id text NOT NULL, stream_version bigint NOT NULL, at timestamptz NOT NULL,
                        event_type text NOT NULL, detail text NOT NULL, PRIMARY KEY (order_id, stream_id, stream_version))
                    """,
                ]),
            Migration(
                version: 2, name: "times from the event store, to the microsecond",
                statements: [
                    StoreTimeRepair.whereTheStoreIs([
                        """
                        UPDATE read_models.order_timeline t SET at = e.recorded_at
                        FROM event_store.events e
                        WHERE e.stream_id = t.stream_id AND e.stream_version = t.stream_version AND t.at <> e.recorded_at
                        """,
                        // Placed: the order stream's first event; updated: the last one applied.
                        """
                        UPDATE read_models.orders o SET placed_at = placed.recorded_at, updated_at = applied.recorded_at
                        FROM event_store.events placed, read_models.stream_positions p, event_store.events applied
                        WHERE placed.stream_id = 'order-' || o.order_id AND placed.stream_version = 1
                          AND p.projection = 'order-summary' AND p.stream_id = placed.stream_id
                          AND applied.stream_id = p.stream_id AND applied.stream_version = p.version
                          AND (o.placed_at <> placed.recorded_at OR o.updated_at <> applied.recorded_at)
                        """,
                    ])
                ]),
            Migration(
                version: 3, name: "refunds paid, one row per refund id",
                statements: [
                    """
                    CREATE TABLE IF NOT EXISTS read_models.order_refunds (
                        order_id text NOT NULL, refund_id text NOT NULL, amount_cents bigint NOT NULL, PRIMARY KEY (order_id, refund_id))
                    """,
                    // The refunds already projected (the order's payment stream up to the version
                    // applied); the projector adds the rest. A v1 event was the checkout saga's
                    // full refund: its id is `Payment.checkoutRefundID`.
                    StoreTimeRepair.whereTheStoreIs([
                        """
                        INSERT INTO read_models.order_refunds (order_id, refund_id, amount_cents)
                        SELECT e.payload->>'orderId', coalesce(e.payload->>'refundId', 'checkout-' || (e.payload->>'orderId')),
                               (e.payload->>'amountCents')::bigint
                        FROM event_store.events e
                        JOIN read_models.stream_positions p ON p.projection = 'order-summary' AND p.stream_id = e.stream_id
                        WHERE e.event_type = 'PaymentRefunded' AND e.stream_version <= p.version
                        ON CONFLICT DO NOTHING
                        """
                    ]),
                ]),
        ])
}

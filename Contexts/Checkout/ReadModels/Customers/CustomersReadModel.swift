public import Projections
import ServiceSupport

extension CheckoutReadModels {
    /// Orders by customer. (The per-customer counter row of earlier versions was a hot row that
    /// projector transactions of different partitions updated together and deadlocked on; the
    /// summary is computed from these rows when read.)
    public static let customers = ReadModel(
        CustomerProjection(),
        migrations: [
            Migration(
                version: 1, name: "customer orders",
                statements: [
                    """
                    CREATE TABLE IF NOT EXISTS read_models.customer_orders (
                        order_id text PRIMARY KEY, customer_id text NOT NULL, status text NOT NULL, total_cents bigint NOT NULL,
                        placed_at timestamptz NOT NULL)
                    """,
                    "CREATE INDEX IF NOT EXISTS customer_orders_customer ON read_models.customer_orders (customer_id, placed_at)",
                ]),
            Migration(
                version: 2, name: "the customer details an order came with, while they are not forgotten",
                statements: [
                    """
                    ALTER TABLE read_models.customer_orders
                        ADD COLUMN IF NOT EXISTS customer_name text, ADD COLUMN IF NOT EXISTS customer_email text,
                        ADD COLUMN IF NOT EXISTS customer_address text
                    """
                ]),
            Migration(
                version: 3, name: "customer details kept sealed, opened when read",
                statements: [
                    // The sealed copy the order's event carries (OrderPlaced v3 and later), for
                    // the orders already projected; then the columns in clear go. Their old
                    // values stay in the table's file until it is rewritten (VACUUM FULL) and
                    // in WAL until it is recycled: README, "Personal data".
                    "ALTER TABLE read_models.customer_orders ADD COLUMN IF NOT EXISTS customer_details jsonb",
                    // (Only where the event store is in this database and already made: a projection
                    // service may start first on a new database, which has no rows to carry over.)
                    """
                    DO $$ BEGIN
                        IF to_regclass('event_store.events') IS NOT NULL THEN
                            UPDATE read_models.customer_orders c SET customer_details = e.payload -> 'customer'
                            FROM event_store.events e
                            WHERE c.customer_name IS NOT NULL AND e.stream_id = 'order-' || c.order_id AND e.stream_version = 1
                              AND e.event_type = 'OrderPlaced' AND jsonb_typeof(e.payload -> 'customer') = 'object';
                        END IF;
                    END $$
                    """,
                    """
                    ALTER TABLE read_models.customer_orders
                        DROP COLUMN IF EXISTS customer_name, DROP COLUMN IF EXISTS customer_email, DROP COLUMN IF EXISTS customer_address
                    """,
                ]),
            Migration(
                version: 4, name: "times from the event store, to the microsecond",
                statements: [
                    StoreTimeRepair.whereTheStoreIs([
                        """
                        UPDATE read_models.customer_orders c SET placed_at = e.recorded_at
                        FROM event_store.events e
                        WHERE e.stream_id = 'order-' || c.order_id AND e.stream_version = 1 AND c.placed_at <> e.recorded_at
                        """
                    ])
                ]),
        ])
}

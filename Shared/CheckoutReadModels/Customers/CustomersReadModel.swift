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
        ])
}

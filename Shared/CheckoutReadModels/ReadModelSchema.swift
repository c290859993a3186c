public import ServiceSupport

/// The checkout read models' tables (numbered after the runtime's own migrations).
public enum ReadModelSchema {
    public static let migrations: [Migration] = [
        Migration(
            version: 100, name: "orders, order timeline, stock levels, customers",
            statements: [
                """
                CREATE TABLE read_models.orders (
                    order_id text PRIMARY KEY, customer_id text NOT NULL, status text NOT NULL, lines jsonb NOT NULL,
                    total_cents bigint NOT NULL, payment_method text NOT NULL, cancellation_reason text,
                    placed_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, correlation_id text NOT NULL)
                """,
                // What happened to an order and why, from every stream that mentions it.
                """
                CREATE TABLE read_models.order_timeline (
                    order_id text NOT NULL, stream_id text NOT NULL, stream_version bigint NOT NULL, at timestamptz NOT NULL,
                    event_type text NOT NULL, detail text NOT NULL, PRIMARY KEY (order_id, stream_id, stream_version))
                """,
                """
                CREATE TABLE read_models.stock_levels (
                    sku text PRIMARY KEY, on_hand bigint NOT NULL DEFAULT 0, reserved bigint NOT NULL DEFAULT 0,
                    updated_at timestamptz NOT NULL DEFAULT now())
                """,
                """
                CREATE TABLE read_models.customer_orders (
                    order_id text PRIMARY KEY, customer_id text NOT NULL, status text NOT NULL, total_cents bigint NOT NULL,
                    placed_at timestamptz NOT NULL)
                """,
                "CREATE INDEX customer_orders_customer ON read_models.customer_orders (customer_id, placed_at)",
                """
                CREATE TABLE read_models.customers (
                    customer_id text PRIMARY KEY, orders bigint NOT NULL DEFAULT 0, confirmed bigint NOT NULL DEFAULT 0,
                    cancelled bigint NOT NULL DEFAULT 0, spent_cents bigint NOT NULL DEFAULT 0)
                """,
            ]),
        // The per-customer counter row was a hot row: orders of one customer live on many
        // partitions, so projector transactions of different partitions updated it together and
        // deadlocked. The summary is now computed from customer_orders when it is read.
        Migration(version: 101, name: "customer summary computed at read time", statements: ["DROP TABLE read_models.customers"]),
    ]
}

import Checkout
public import EventSourcing
public import Projections

/// Orders by customer and a per-customer summary (orders, confirmed, cancelled, spent).
public struct CustomerProjection: Projection {
    public let name = "customers"
    public let tables = ["customer_orders", "customers"]
    public let eventTypes: Set<String> = Set(Order.codec.eventTypes)

    public init() {}

    public func apply(_ event: RecordedEvent, to target: ProjectionTarget) async throws {
        guard case .order(let order) = try CheckoutEvents.decode(event) else { return }
        let orders = target.table("customer_orders")
        let customers = target.table("customers")
        switch order {
        case .placed(let placed):
            try await target.run(
                """
                INSERT INTO \(unescaped: orders) (order_id, customer_id, status, total_cents, placed_at)
                VALUES (\(placed.orderId), \(placed.customerId), 'pending', \(Int64(placed.totalCents)), \(event.recordedAt))
                """)
            try await target.run(
                """
                INSERT INTO \(unescaped: customers) AS c (customer_id, orders) VALUES (\(placed.customerId), 1)
                ON CONFLICT (customer_id) DO UPDATE SET orders = c.orders + 1
                """)
        case .confirmed(let confirmed):
            try await target.run(
                """
                WITH o AS (UPDATE \(unescaped: orders) SET status = 'confirmed' WHERE order_id = \(confirmed.orderId) RETURNING customer_id, total_cents)
                UPDATE \(unescaped: customers) c SET confirmed = c.confirmed + 1, spent_cents = c.spent_cents + o.total_cents
                FROM o WHERE c.customer_id = o.customer_id
                """)
        case .cancelled(let cancelled):
            try await target.run(
                """
                WITH o AS (UPDATE \(unescaped: orders) SET status = 'cancelled' WHERE order_id = \(cancelled.orderId) RETURNING customer_id)
                UPDATE \(unescaped: customers) c SET cancelled = c.cancelled + 1 FROM o WHERE c.customer_id = o.customer_id
                """)
        }
    }
}

import Checkout
public import EventSourcing
public import Projections

/// Orders by customer; the per-customer summary (orders, confirmed, cancelled, spent) is
/// computed from them when read. No row is shared by orders of different partitions, so
/// projector transactions never wait on (or deadlock with) each other here.
public struct CustomerProjection: Projection {
    public let name = "customers"
    public let tables = ["customer_orders"]
    public let eventTypes: Set<String> = Set(Order.codec.eventTypes)

    public init() {}

    public func apply(_ event: RecordedEvent, to target: ProjectionTarget) async throws {
        guard case .order(let order) = try CheckoutEvents.decode(event) else { return }
        let orders = target.table("customer_orders")
        switch order {
        case .placed(let placed):
            try await target.run(
                """
                INSERT INTO \(unescaped: orders) (order_id, customer_id, status, total_cents, placed_at)
                VALUES (\(placed.orderId), \(placed.customerId), 'pending', \(Int64(placed.totalCents)), \(event.recordedAt))
                """)
        case .confirmed(let confirmed):
            try await target.run("UPDATE \(unescaped: orders) SET status = 'confirmed' WHERE order_id = \(confirmed.orderId)")
        case .cancelled(let cancelled):
            try await target.run("UPDATE \(unescaped: orders) SET status = 'cancelled' WHERE order_id = \(cancelled.orderId)")
        }
    }
}

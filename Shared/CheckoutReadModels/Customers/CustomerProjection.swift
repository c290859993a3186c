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
    public let streamTypes: Set<String> = [Order.category]

    public init() {}

    public func apply(_ events: [RecordedEvent], to target: ProjectionTarget) async throws {
        var rows = OrderRows()
        for event in events {
            guard case .order(let order) = try CheckoutEvents.decode(event) else { continue }
            switch order {
            case .placed(let e):
                rows.place(
                    .init(
                        orderID: e.orderId, customerID: e.customerId, status: "pending", lines: "", totalCents: Int64(e.totalCents),
                        paymentMethod: e.paymentMethod, placedAt: event.recordedAt, updatedAt: event.recordedAt, correlationID: event.correlationID))
            case .confirmed(let e): rows.change(e.orderId, to: "confirmed", at: event.recordedAt)
            case .cancelled(let e): rows.change(e.orderId, to: "cancelled", at: event.recordedAt)
            }
        }
        let table = target.table("customer_orders")
        let inserts = rows.inserts
        if target.isBulkLoad {
            try await target.copy(
                into: "customer_orders", columns: ["order_id", "customer_id", "status", "total_cents", "placed_at"],
                rows: inserts.map { [$0.orderID, $0.customerID, $0.status, String($0.totalCents), CopyText.timestamp($0.placedAt)] })
        } else if !inserts.isEmpty {
            try await target.run(
                """
                INSERT INTO \(unescaped: table) (order_id, customer_id, status, total_cents, placed_at)
                SELECT u.order_id, u.customer_id, u.status, u.total_cents, 'epoch'::timestamptz + u.placed_us * interval '1 microsecond'
                FROM unnest(\(inserts.map(\.orderID))::text[], \(inserts.map(\.customerID))::text[], \(inserts.map(\.status))::text[],
                            \(inserts.map(\.totalCents))::int8[], \(inserts.map(\.placedAt.epochMicroseconds))::int8[])
                     AS u(order_id, customer_id, status, total_cents, placed_us)
                """)
        }
        let updates = rows.updates
        guard !updates.isEmpty else { return }
        try await target.run(
            """
            UPDATE \(unescaped: table) t SET status = u.status
            FROM unnest(\(updates.map(\.orderID))::text[], \(updates.map(\.change.status))::text[]) AS u(order_id, status)
            WHERE t.order_id = u.order_id
            """)
    }
}

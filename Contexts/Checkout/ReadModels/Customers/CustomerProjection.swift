import Checkout
public import EventSourcing
import EventStore
import Foundation
public import Projections

/// Orders by customer; the per-customer summary (orders, confirmed, cancelled, spent) is
/// computed from them when read. No row is shared by orders of different partitions, so
/// projector transactions never wait on (or deadlock with) each other here.
///
/// Each order row also keeps the customer's details the order came with, still SEALED (the
/// `SealedData` of `OrderPlaced`, as jsonb): they are opened with the customer's key only when a
/// query reads them. So erasure never depends on the order in which the projector sees an order
/// and its customer's `CustomerForgotten` (different topics), and no plaintext is ever written
/// to the table file or the WAL: deleting the key erases the row's copy with every other.
/// `CustomerForgotten` still drops the sealed copies of the orders placed up to then (tidiness;
/// a query could no longer open them anyway).
public struct CustomerProjection: Projection {
    public let name = "customers"
    public let tables = ["customer_orders"]
    public let eventTypes: Set<String> = Set(Order.codec.eventTypes + Customer.codec.eventTypes)
    public let streamTypes: Set<String> = [Order.category, Customer.category]

    public init() {}

    public func apply(_ events: [RecordedEvent], to target: ProjectionTarget) async throws {
        var rows = OrderRows()
        var sealed: [String: String] = [:]
        var forgotten: [(customerID: String, at: Date)] = []
        for event in events {
            switch try CheckoutEvents.decode(event) {
            case .order(.placed(let e)):
                rows.place(
                    .init(
                        orderID: e.orderId, customerID: e.customerId, status: "pending", lines: "", totalCents: Int64(e.totalCents),
                        paymentMethod: e.paymentMethod, placedAt: event.recordedAt, updatedAt: event.recordedAt, correlationID: event.correlationID))
                if let details = e.customer { sealed[e.orderId] = String(decoding: try JSONEncoder().encode(details), as: UTF8.self) }
            case .order(.confirmed(let e)): rows.change(e.orderId, to: "confirmed", at: event.recordedAt)
            case .order(.cancelled(let e)): rows.change(e.orderId, to: "cancelled", at: event.recordedAt)
            case .customer(.forgotten(let e)): forgotten.append((e.customerId, event.recordedAt))
            default: continue
            }
        }
        let table = target.table("customer_orders")
        let inserts = rows.inserts
        if target.isBulkLoad {
            try await target.copy(
                into: "customer_orders",
                columns: ["order_id", "customer_id", "status", "total_cents", "placed_at", "customer_details"],
                rows: inserts.map { row in
                    [row.orderID, row.customerID, row.status, String(row.totalCents), CopyText.timestamp(row.placedAt), sealed[row.orderID]]
                })
        } else if !inserts.isEmpty {
            // No details is '' here, NULL in the table.
            try await target.run(
                """
                INSERT INTO \(unescaped: table) (order_id, customer_id, status, total_cents, placed_at, customer_details)
                SELECT u.order_id, u.customer_id, u.status, u.total_cents, 'epoch'::timestamptz + u.placed_us * interval '1 microsecond',
                       nullif(u.details, '')::jsonb
                FROM unnest(\(inserts.map(\.orderID))::text[], \(inserts.map(\.customerID))::text[], \(inserts.map(\.status))::text[],
                            \(inserts.map(\.totalCents))::int8[], \(inserts.map(\.placedAt.epochMicroseconds))::int8[],
                            \(inserts.map { sealed[$0.orderID] ?? "" })::text[])
                     AS u(order_id, customer_id, status, total_cents, placed_us, details)
                """)
        }
        let updates = rows.updates
        if !updates.isEmpty {
            try await target.run(
                """
                UPDATE \(unescaped: table) t SET status = u.status
                FROM unnest(\(updates.map(\.orderID))::text[], \(updates.map(\.change.status))::text[]) AS u(order_id, status)
                WHERE t.order_id = u.order_id
                """)
        }
        // After the inserts, so that the rows do not depend on batching.
        if !forgotten.isEmpty {
            try await target.run(
                """
                UPDATE \(unescaped: table) t SET customer_details = NULL
                FROM unnest(\(forgotten.map(\.customerID))::text[], \(forgotten.map(\.at.epochMicroseconds))::int8[]) AS f(customer_id, at_us)
                WHERE t.customer_id = f.customer_id AND t.placed_at <= 'epoch'::timestamptz + f.at_us * interval '1 microsecond'
                  AND t.customer_details IS NOT NULL
                """)
        }
    }
}

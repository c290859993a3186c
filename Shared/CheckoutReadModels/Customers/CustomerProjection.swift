import Checkout
public import EventSourcing
import EventStore
import Foundation
public import Projections

/// Orders by customer; the per-customer summary (orders, confirmed, cancelled, spent) is
/// computed from them when read. No row is shared by orders of different partitions, so
/// projector transactions never wait on (or deadlock with) each other here.
///
/// Each order row also shows the customer's details the order came with, opened with the
/// customer's key while it exists (read in the projector's transaction). `CustomerForgotten`
/// drops them from every order placed up to then; a rebuild after forgetting finds the key
/// gone and writes none.
public struct CustomerProjection: Projection {
    public let name = "customers"
    public let tables = ["customer_orders"]
    public let eventTypes: Set<String> = Set(Order.codec.eventTypes + Customer.codec.eventTypes)
    public let streamTypes: Set<String> = [Order.category, Customer.category]

    public init() {}

    public func apply(_ events: [RecordedEvent], to target: ProjectionTarget) async throws {
        var rows = OrderRows()
        var sealed: [String: SealedData] = [:]
        var forgotten: [(customerID: String, at: Date)] = []
        for event in events {
            switch try CheckoutEvents.decode(event) {
            case .order(.placed(let e)):
                rows.place(
                    .init(
                        orderID: e.orderId, customerID: e.customerId, status: "pending", lines: "", totalCents: Int64(e.totalCents),
                        paymentMethod: e.paymentMethod, placedAt: event.recordedAt, updatedAt: event.recordedAt, correlationID: event.correlationID))
                sealed[e.orderId] = e.customer
            case .order(.confirmed(let e)): rows.change(e.orderId, to: "confirmed", at: event.recordedAt)
            case .order(.cancelled(let e)): rows.change(e.orderId, to: "cancelled", at: event.recordedAt)
            case .customer(.forgotten(let e)): forgotten.append((e.customerId, event.recordedAt))
            default: continue
            }
        }
        let details = try await open(sealed, on: target)
        let table = target.table("customer_orders")
        let inserts = rows.inserts
        if target.isBulkLoad {
            try await target.copy(
                into: "customer_orders",
                columns: ["order_id", "customer_id", "status", "total_cents", "placed_at", "customer_name", "customer_email", "customer_address"],
                rows: inserts.map { row in
                    let shown = details[row.orderID]
                    return [
                        row.orderID, row.customerID, row.status, String(row.totalCents), CopyText.timestamp(row.placedAt), shown?.name, shown?.email,
                        shown?.address,
                    ]
                })
        } else if !inserts.isEmpty {
            // No details is '' here (the rules refuse empty details), NULL in the table.
            let shown = inserts.map { details[$0.orderID] }
            try await target.run(
                """
                INSERT INTO \(unescaped: table) (order_id, customer_id, status, total_cents, placed_at, customer_name, customer_email, customer_address)
                SELECT u.order_id, u.customer_id, u.status, u.total_cents, 'epoch'::timestamptz + u.placed_us * interval '1 microsecond',
                       nullif(u.name, ''), nullif(u.email, ''), nullif(u.address, '')
                FROM unnest(\(inserts.map(\.orderID))::text[], \(inserts.map(\.customerID))::text[], \(inserts.map(\.status))::text[],
                            \(inserts.map(\.totalCents))::int8[], \(inserts.map(\.placedAt.epochMicroseconds))::int8[],
                            \(shown.map { $0?.name ?? "" })::text[], \(shown.map { $0?.email ?? "" })::text[],
                            \(shown.map { $0?.address ?? "" })::text[])
                     AS u(order_id, customer_id, status, total_cents, placed_us, name, email, address)
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
        // After the inserts: an order placed earlier in this batch is erased too (its key is
        // gone already, so it showed nothing; this keeps the rule independent of batching).
        if !forgotten.isEmpty {
            try await target.run(
                """
                UPDATE \(unescaped: table) t SET customer_name = NULL, customer_email = NULL, customer_address = NULL
                FROM unnest(\(forgotten.map(\.customerID))::text[], \(forgotten.map(\.at.epochMicroseconds))::int8[]) AS f(customer_id, at_us)
                WHERE t.customer_id = f.customer_id AND t.placed_at <= 'epoch'::timestamptz + f.at_us * interval '1 microsecond'
                  AND t.customer_name IS NOT NULL
                """)
        }
    }

    /// The details of each order that came with them and whose key still exists.
    private func open(_ sealed: [String: SealedData], on target: ProjectionTarget) async throws -> [String: CustomerDetails] {
        guard !sealed.isEmpty else { return [:] }
        let keys = try await PersonalDataVault.keys(
            Set(sealed.values.compactMap { UUID(uuidString: $0.keyId) }), on: target.connection, logger: target.logger)
        var details: [String: CustomerDetails] = [:]
        for (orderID, value) in sealed {
            details[orderID] = try PersonalDataCipher.open(value, as: CustomerDetails.self, keys: keys)
        }
        return details
    }
}

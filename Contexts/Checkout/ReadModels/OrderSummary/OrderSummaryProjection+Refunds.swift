import Checkout
import Projections

/// The refunds paid on an order's payment, one row per refund id (the saga's, one per return):
/// the summary shows their sum. A row of its own rather than a column of `orders`, because the
/// payment topic is read apart from the order topic: a refund may be projected before its
/// order's row exists, and an insert keyed by the refund id needs no row to add to and counts
/// a refund once however often it is delivered.
extension OrderSummaryProjection {
    struct RefundRow {
        var orderID: String
        var refundID: String
        var amountCents: Int64
    }

    static func refundRow(_ event: CheckoutEvent) -> RefundRow? {
        guard case .payment(.refunded(let e)) = event else { return nil }
        return RefundRow(orderID: e.orderId, refundID: e.refundId, amountCents: Int64(e.amountCents))
    }

    /// Refunds are few, so a rebuild writes them with the same statement (no bulk copy).
    func writeRefunds(_ rows: [RefundRow], to target: ProjectionTarget) async throws {
        guard !rows.isEmpty else { return }
        try await target.run(
            """
            INSERT INTO \(unescaped: target.table("order_refunds")) (order_id, refund_id, amount_cents)
            SELECT r.order_id, r.refund_id, r.amount_cents
            FROM unnest(\(rows.map(\.orderID))::text[], \(rows.map(\.refundID))::text[], \(rows.map(\.amountCents))::int8[])
                 AS r(order_id, refund_id, amount_cents)
            ON CONFLICT DO NOTHING
            """)
    }
}

import Checkout
public import EventSourcing
import Foundation
public import Projections

/// Order summaries (status, lines, total, cancellation reason, refunds) and each order's
/// timeline: what happened and why, from the order, stock and payment streams. Per batch: one
/// insert of the orders placed in it (with their final status), one update of the others, one
/// insert of the refunds paid, one timeline insert.
public struct OrderSummaryProjection: Projection {
    public let name = "order-summary"
    public let tables = ["orders", "order_timeline", "order_refunds"]
    public let eventTypes: Set<String> = Set(Order.codec.eventTypes + Stock.codec.eventTypes + Payment.codec.eventTypes)
        .subtracting(["StockRestocked"])
    public let streamTypes: Set<String> = [Order.category, Stock.category, Payment.category]
    public let knownEventTypes: Set<String> = Set(Order.codec.eventTypes + Stock.codec.eventTypes + Payment.codec.eventTypes)

    public init() {}

    struct TimelineRow {
        var orderID: String
        var streamID: String
        var streamVersion: Int64
        var at: Date
        var eventType: String
        var detail: String
    }

    public func apply(_ events: [RecordedEvent], to target: ProjectionTarget) async throws {
        var rows = OrderRows()
        var timeline: [TimelineRow] = []
        timeline.reserveCapacity(events.count)
        var refunds: [RefundRow] = []
        let encoder = JSONEncoder()
        for event in events {
            let decoded = try CheckoutEvents.decode(event)
            let (orderID, detail) = CheckoutEvents.describe(decoded)
            timeline.append(
                TimelineRow(
                    orderID: orderID, streamID: event.streamID, streamVersion: event.streamVersion, at: event.recordedAt, eventType: event.type,
                    detail: detail))
            if let refund = Self.refundRow(decoded) { refunds.append(refund) }
            guard case .order(let order) = decoded else { continue }
            switch order {
            case .placed(let e):
                rows.place(
                    .init(
                        orderID: e.orderId, customerID: e.customerId, status: "pending", lines: String(decoding: try encoder.encode(e.lines), as: UTF8.self),
                        totalCents: Int64(e.totalCents), paymentMethod: e.paymentMethod, placedAt: event.recordedAt, updatedAt: event.recordedAt,
                        correlationID: event.correlationID))
            case .confirmed(let e): rows.change(e.orderId, to: "confirmed", at: event.recordedAt)
            case .cancelled(let e): rows.change(e.orderId, to: "cancelled", reason: e.reason, at: event.recordedAt)
            }
        }
        try await writeOrders(rows, to: target)
        try await writeRefunds(refunds, to: target)
        try await writeTimeline(timeline, to: target)
    }

    private func writeOrders(_ rows: OrderRows, to target: ProjectionTarget) async throws {
        let orders = target.table("orders")
        let inserts = rows.inserts
        if target.isBulkLoad {
            try await target.copy(
                into: "orders",
                columns: ["order_id", "customer_id", "status", "lines", "total_cents", "payment_method", "cancellation_reason", "placed_at", "updated_at", "correlation_id"],
                rows: inserts.map {
                    [$0.orderID, $0.customerID, $0.status, $0.lines, String($0.totalCents), $0.paymentMethod,
                     $0.cancellationReason.flatMap { $0.isEmpty ? nil : $0 },
                     CopyText.timestamp($0.placedAt), CopyText.timestamp($0.updatedAt), $0.correlationID]
                })
        } else if !inserts.isEmpty {
            try await target.run(
                """
                INSERT INTO \(unescaped: orders) (order_id, customer_id, status, lines, total_cents, payment_method, cancellation_reason, placed_at,
                                                  updated_at, correlation_id)
                SELECT o.order_id, o.customer_id, o.status, o.lines::jsonb, o.total_cents, o.payment_method, nullif(o.reason, ''),
                       'epoch'::timestamptz + o.placed_us * interval '1 microsecond', 'epoch'::timestamptz + o.updated_us * interval '1 microsecond',
                       o.correlation_id
                FROM unnest(\(inserts.map(\.orderID))::text[], \(inserts.map(\.customerID))::text[], \(inserts.map(\.status))::text[],
                            \(inserts.map(\.lines))::text[], \(inserts.map(\.totalCents))::int8[], \(inserts.map(\.paymentMethod))::text[],
                            \(inserts.map { $0.cancellationReason ?? "" })::text[], \(inserts.map(\.placedAt.epochMicroseconds))::int8[],
                            \(inserts.map(\.updatedAt.epochMicroseconds))::int8[], \(inserts.map(\.correlationID))::text[])
                     AS o(order_id, customer_id, status, lines, total_cents, payment_method, reason, placed_us, updated_us, correlation_id)
                """)
        }
        let updates = rows.updates
        guard !updates.isEmpty else { return }
        try await target.run(
            """
            UPDATE \(unescaped: orders) t SET status = u.status, cancellation_reason = coalesce(nullif(u.reason, ''), t.cancellation_reason),
                                              updated_at = 'epoch'::timestamptz + u.updated_us * interval '1 microsecond'
            FROM unnest(\(updates.map(\.orderID))::text[], \(updates.map(\.change.status))::text[],
                        \(updates.map { $0.change.cancellationReason ?? "" })::text[], \(updates.map(\.change.updatedAt.epochMicroseconds))::int8[])
                 AS u(order_id, status, reason, updated_us)
            WHERE t.order_id = u.order_id
            """)
    }

    private func writeTimeline(_ rows: [TimelineRow], to target: ProjectionTarget) async throws {
        guard !rows.isEmpty else { return }
        if target.isBulkLoad {
            try await target.copy(
                into: "order_timeline", columns: ["order_id", "stream_id", "stream_version", "at", "event_type", "detail"],
                rows: rows.map { [$0.orderID, $0.streamID, String($0.streamVersion), CopyText.timestamp($0.at), $0.eventType, $0.detail] })
            return
        }
        try await target.run(
            """
            INSERT INTO \(unescaped: target.table("order_timeline")) (order_id, stream_id, stream_version, at, event_type, detail)
            SELECT t.order_id, t.stream_id, t.stream_version, 'epoch'::timestamptz + t.at_us * interval '1 microsecond', t.event_type, t.detail
            FROM unnest(\(rows.map(\.orderID))::text[], \(rows.map(\.streamID))::text[], \(rows.map(\.streamVersion))::int8[],
                        \(rows.map(\.at.epochMicroseconds))::int8[], \(rows.map(\.eventType))::text[], \(rows.map(\.detail))::text[])
                 AS t(order_id, stream_id, stream_version, at_us, event_type, detail)
            ON CONFLICT DO NOTHING
            """)
    }
}

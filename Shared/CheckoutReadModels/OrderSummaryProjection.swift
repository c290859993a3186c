import Checkout
public import EventSourcing
import Foundation
public import Projections

/// Order summaries (status, lines, total, cancellation reason) and each order's timeline: what
/// happened and why, from the order, stock and payment streams.
public struct OrderSummaryProjection: Projection {
    public let name = "order-summary"
    public let tables = ["orders", "order_timeline"]
    public let eventTypes: Set<String> = Set(Order.codec.eventTypes + Stock.codec.eventTypes + Payment.codec.eventTypes)
        .subtracting(["StockRestocked"])

    public init() {}

    public func apply(_ event: RecordedEvent, to target: ProjectionTarget) async throws {
        let orders = target.table("orders")
        let timeline = target.table("order_timeline")
        let (orderID, detail) = try CheckoutEvents.describe(event)
        if case .order(let order) = try CheckoutEvents.decode(event) {
            switch order {
            case .placed(let placed):
                let lines = String(decoding: try JSONEncoder().encode(placed.lines), as: UTF8.self)
                try await target.run(
                    """
                    INSERT INTO \(unescaped: orders) (order_id, customer_id, status, lines, total_cents, payment_method, placed_at, updated_at, correlation_id)
                    VALUES (\(placed.orderId), \(placed.customerId), 'pending', \(lines)::jsonb, \(Int64(placed.totalCents)), \(placed.paymentMethod),
                            \(event.recordedAt), \(event.recordedAt), \(event.correlationID))
                    """)
            case .confirmed(let confirmed):
                try await target.run(
                    "UPDATE \(unescaped: orders) SET status = 'confirmed', updated_at = \(event.recordedAt) WHERE order_id = \(confirmed.orderId)")
            case .cancelled(let cancelled):
                try await target.run(
                    """
                    UPDATE \(unescaped: orders) SET status = 'cancelled', cancellation_reason = \(cancelled.reason), updated_at = \(event.recordedAt)
                    WHERE order_id = \(cancelled.orderId)
                    """)
            }
        }
        try await target.run(
            """
            INSERT INTO \(unescaped: timeline) (order_id, stream_id, stream_version, at, event_type, detail)
            VALUES (\(orderID), \(event.streamID), \(event.streamVersion), \(event.recordedAt), \(event.type), \(detail))
            ON CONFLICT DO NOTHING
            """)
    }
}

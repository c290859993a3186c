public import Foundation
import PostgresNIO

extension ReadModelQueries {
    public struct TimelineEntry: Codable, Sendable {
        public var at: Date
        public var type: String
        public var detail: String
        public var streamId: String
        public var streamVersion: Int64
    }

    public struct OrderView: Codable, Sendable {
        public var orderId: String
        public var customerId: String
        public var status: String
        public var lines: [Line]
        public var totalCents: Int64
        public var paymentMethod: String
        public var cancellationReason: String?
        /// The sum of the refunds paid (the checkout's compensation, returns).
        public var refundedCents: Int64
        public var placedAt: Date
        public var updatedAt: Date
        public var correlationId: String
        public var timeline: [TimelineEntry]

        public struct Line: Codable, Sendable {
            public var sku: String
            public var quantity: Int
            public var unitPriceCents: Int
        }
    }

    public func order(_ id: String) async throws -> OrderView? {
        guard let row = try await client.liveQuery(
            """
            SELECT order_id, customer_id, status, lines::text, total_cents, payment_method, cancellation_reason, placed_at, updated_at, correlation_id,
                   (SELECT coalesce(sum(r.amount_cents), 0)::int8 FROM read_models.order_refunds r WHERE r.order_id = o.order_id)
            FROM read_models.orders o WHERE order_id = \(id)
            """, logger: logger
        ).first else { return nil }
        let c = try row.decode((String, String, String, String, Int64, String, String?, Date, Date, String, Int64).self)
        let lines = (try? JSONDecoder().decode([OrderView.Line].self, from: Data(c.3.utf8))) ?? []
        let timeline = try await client.liveQuery(
            """
            SELECT at, event_type, detail, stream_id, stream_version FROM read_models.order_timeline
            WHERE order_id = \(id) ORDER BY at, stream_id, stream_version
            """, logger: logger
        ).map { row in
            let t = try row.decode((Date, String, String, String, Int64).self)
            return TimelineEntry(at: t.0, type: t.1, detail: t.2, streamId: t.3, streamVersion: t.4)
        }
        return OrderView(
            orderId: c.0, customerId: c.1, status: c.2, lines: lines, totalCents: c.4, paymentMethod: c.5, cancellationReason: c.6,
            refundedCents: c.10, placedAt: c.7, updatedAt: c.8, correlationId: c.9, timeline: timeline)
    }
}

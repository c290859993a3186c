public import Foundation
public import Logging
public import PostgresNIO

/// Reads of the checkout read models, as the projection service serves them.
public struct ReadModelQueries: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

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
        guard let row = try await client.query(
            """
            SELECT order_id, customer_id, status, lines::text, total_cents, payment_method, cancellation_reason, placed_at, updated_at, correlation_id
            FROM read_models.orders WHERE order_id = \(id)
            """, logger: logger
        ).collect().first else { return nil }
        let c = try row.decode((String, String, String, String, Int64, String, String?, Date, Date, String).self)
        let lines = (try? JSONDecoder().decode([OrderView.Line].self, from: Data(c.3.utf8))) ?? []
        let timeline = try await client.query(
            """
            SELECT at, event_type, detail, stream_id, stream_version FROM read_models.order_timeline
            WHERE order_id = \(id) ORDER BY at, stream_id, stream_version
            """, logger: logger
        ).collect().map { row in
            let t = try row.decode((Date, String, String, String, Int64).self)
            return TimelineEntry(at: t.0, type: t.1, detail: t.2, streamId: t.3, streamVersion: t.4)
        }
        return OrderView(
            orderId: c.0, customerId: c.1, status: c.2, lines: lines, totalCents: c.4, paymentMethod: c.5, cancellationReason: c.6,
            placedAt: c.7, updatedAt: c.8, correlationId: c.9, timeline: timeline)
    }

    public struct CustomerOrder: Codable, Sendable {
        public var orderId: String
        public var status: String
        public var totalCents: Int64
        public var placedAt: Date
    }

    public struct CustomerView: Codable, Sendable {
        public var customerId: String
        public var orders: Int64
        public var confirmed: Int64
        public var cancelled: Int64
        public var spentCents: Int64
        public var recentOrders: [CustomerOrder]
    }

    public func customer(_ id: String, limit: Int = 100) async throws -> CustomerView? {
        guard
            let row = try await client.query(
                """
                SELECT count(*)::int8, count(*) FILTER (WHERE status = 'confirmed')::int8, count(*) FILTER (WHERE status = 'cancelled')::int8,
                       coalesce(sum(total_cents) FILTER (WHERE status = 'confirmed'), 0)::int8
                FROM read_models.customer_orders WHERE customer_id = \(id)
                """, logger: logger
            ).collect().first
        else { return nil }
        let (orders, confirmed, cancelled, spent) = try row.decode((Int64, Int64, Int64, Int64).self)
        guard orders > 0 else { return nil }
        let recent = try await client.query(
            """
            SELECT order_id, status, total_cents, placed_at FROM read_models.customer_orders
            WHERE customer_id = \(id) ORDER BY placed_at DESC LIMIT \(Int64(limit))
            """, logger: logger
        ).collect().map { row in
            let o = try row.decode((String, String, Int64, Date).self)
            return CustomerOrder(orderId: o.0, status: o.1, totalCents: o.2, placedAt: o.3)
        }
        return CustomerView(customerId: id, orders: orders, confirmed: confirmed, cancelled: cancelled, spentCents: spent, recentOrders: recent)
    }

    public struct StockView: Codable, Sendable {
        public var sku: String
        public var onHand: Int64
        public var reserved: Int64
        public var available: Int64
        public var updatedAt: Date
    }

    public func stock(_ sku: String) async throws -> StockView? {
        guard let row = try await client.query(
            "SELECT on_hand, reserved, updated_at FROM read_models.stock_levels WHERE sku = \(sku)", logger: logger
        ).collect().first else { return nil }
        let (onHand, reserved, updatedAt) = try row.decode((Int64, Int64, Date).self)
        return StockView(sku: sku, onHand: onHand, reserved: reserved, available: onHand - reserved, updatedAt: updatedAt)
    }
}

import Checkout
import EventSourcing
import EventStore
public import Foundation
import PostgresNIO

extension ReadModelQueries {
    public struct CustomerOrder: Codable, Sendable {
        public var orderId: String
        public var status: String
        public var totalCents: Int64
        public var placedAt: Date
    }

    /// The details of the customer's latest order that came with them; nil when none did or the
    /// customer was forgotten.
    public struct CustomerDetailsView: Codable, Sendable {
        public var name: String
        public var email: String
        public var address: String
    }

    public struct CustomerView: Codable, Sendable {
        public var customerId: String
        public var details: CustomerDetailsView?
        public var orders: Int64
        public var confirmed: Int64
        public var cancelled: Int64
        public var spentCents: Int64
        public var recentOrders: [CustomerOrder]
    }

    public func customer(_ id: String, limit: Int = 100) async throws -> CustomerView? {
        guard
            let row = try await client.liveQuery(
                """
                SELECT count(*)::int8, count(*) FILTER (WHERE status = 'confirmed')::int8, count(*) FILTER (WHERE status = 'cancelled')::int8,
                       coalesce(sum(total_cents) FILTER (WHERE status = 'confirmed'), 0)::int8
                FROM read_models.customer_orders WHERE customer_id = \(id)
                """, logger: logger
            ).first
        else { return nil }
        let (orders, confirmed, cancelled, spent) = try row.decode((Int64, Int64, Int64, Int64).self)
        guard orders > 0 else { return nil }
        let recent = try await client.liveQuery(
            """
            SELECT order_id, status, total_cents, placed_at FROM read_models.customer_orders
            WHERE customer_id = \(id) ORDER BY placed_at DESC LIMIT \(Int64(limit))
            """, logger: logger
        ).map { row in
            let o = try row.decode((String, String, Int64, Date).self)
            return CustomerOrder(orderId: o.0, status: o.1, totalCents: o.2, placedAt: o.3)
        }
        // The latest order that came with details; opened here, with the customer's key if it
        // still exists (the read model keeps them sealed).
        let sealed = try await client.liveQuery(
            """
            SELECT customer_details::text FROM read_models.customer_orders
            WHERE customer_id = \(id) AND customer_details IS NOT NULL ORDER BY placed_at DESC LIMIT 1
            """, logger: logger
        ).first.map { row in try JSONDecoder().decode(SealedData.self, from: Data(try row.decode(String.self).utf8)) }
        var details: CustomerDetailsView?
        if let sealed, let keyID = UUID(uuidString: sealed.keyId) {
            let keys = try await PersonalDataVault(client: client, logger: logger).keys([keyID])
            details = try PersonalDataCipher.open(sealed, as: CustomerDetails.self, keys: keys).map {
                CustomerDetailsView(name: $0.name, email: $0.email, address: $0.address)
            }
        }
        return CustomerView(
            customerId: id, details: details, orders: orders, confirmed: confirmed, cancelled: cancelled, spentCents: spent, recentOrders: recent)
    }
}

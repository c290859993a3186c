public import Foundation
import PostgresNIO

extension ReadModelQueries {
    public struct StockView: Codable, Sendable {
        public var sku: String
        public var onHand: Int64
        public var reserved: Int64
        public var available: Int64
        public var updatedAt: Date
    }

    public func stock(_ sku: String) async throws -> StockView? {
        guard let row = try await client.liveQuery(
            "SELECT on_hand, reserved, updated_at FROM read_models.stock_levels WHERE sku = \(sku)", logger: logger
        ).first else { return nil }
        let (onHand, reserved, updatedAt) = try row.decode((Int64, Int64, Date).self)
        return StockView(sku: sku, onHand: onHand, reserved: reserved, available: onHand - reserved, updatedAt: updatedAt)
    }
}

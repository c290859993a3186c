import Checkout
public import EventSourcing
import Foundation
public import Projections

/// Stock per SKU: on hand, reserved, available. A batch is folded into one delta per SKU and
/// written with one upsert, in SKU order so that concurrent partitions lock rows alike.
public struct StockLevelsProjection: Projection {
    public let name = "stock-levels"
    public let tables = ["stock_levels"]
    public let eventTypes: Set<String> = Set(Stock.codec.eventTypes)
    public let streamTypes: Set<String> = [Stock.category]

    public init() {}

    struct Delta {
        var onHand: Int64 = 0
        var reserved: Int64 = 0
        var updatedAt = Date.distantPast
    }

    public func apply(_ events: [RecordedEvent], to target: ProjectionTarget) async throws {
        var deltas: [String: Delta] = [:]
        for event in events {
            guard case .stock(let stock) = try CheckoutEvents.decode(event) else { continue }
            let (sku, onHand, reserved): (String, Int, Int) =
                switch stock {
                case .restocked(let e): (e.sku, e.quantity, 0)
                case .reserved(let e): (e.sku, 0, e.quantity)
                case .reservationRejected(let e): (e.sku, 0, 0)
                case .released(let e): (e.sku, 0, -e.quantity)
                case .committed(let e): (e.sku, -e.quantity, -e.quantity)
                }
            deltas[sku, default: Delta()].onHand += Int64(onHand)
            deltas[sku, default: Delta()].reserved += Int64(reserved)
            deltas[sku, default: Delta()].updatedAt = event.recordedAt
        }
        guard !deltas.isEmpty else { return }
        let skus = deltas.keys.sorted()
        let rows = skus.map { deltas[$0] ?? Delta() }
        let table = target.table("stock_levels")
        try await target.run(
            """
            INSERT INTO \(unescaped: table) AS s (sku, on_hand, reserved, updated_at)
            SELECT u.sku, u.on_hand, u.reserved, 'epoch'::timestamptz + u.updated_us * interval '1 microsecond'
            FROM unnest(\(skus)::text[], \(rows.map(\.onHand))::int8[], \(rows.map(\.reserved))::int8[], \(rows.map(\.updatedAt.epochMicroseconds))::int8[])
                 AS u(sku, on_hand, reserved, updated_us)
            ON CONFLICT (sku) DO UPDATE SET on_hand = s.on_hand + EXCLUDED.on_hand, reserved = s.reserved + EXCLUDED.reserved,
                                            updated_at = EXCLUDED.updated_at
            """)
    }
}

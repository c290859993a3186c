import Checkout
public import EventSourcing
public import Projections

/// Stock per SKU: on hand, reserved, available.
public struct StockLevelsProjection: Projection {
    public let name = "stock-levels"
    public let tables = ["stock_levels"]
    public let eventTypes: Set<String> = Set(Stock.codec.eventTypes)

    public init() {}

    public func apply(_ event: RecordedEvent, to target: ProjectionTarget) async throws {
        guard case .stock(let stock) = try CheckoutEvents.decode(event) else { return }
        let (sku, onHand, reserved): (String, Int, Int) =
            switch stock {
            case .restocked(let e): (e.sku, e.quantity, 0)
            case .reserved(let e): (e.sku, 0, e.quantity)
            case .reservationRejected(let e): (e.sku, 0, 0)
            case .released(let e): (e.sku, 0, -e.quantity)
            case .committed(let e): (e.sku, -e.quantity, -e.quantity)
            }
        let table = target.table("stock_levels")
        try await target.run(
            """
            INSERT INTO \(unescaped: table) AS s (sku, on_hand, reserved, updated_at) VALUES (\(sku), \(Int64(onHand)), \(Int64(reserved)), \(event.recordedAt))
            ON CONFLICT (sku) DO UPDATE SET on_hand = s.on_hand + EXCLUDED.on_hand, reserved = s.reserved + EXCLUDED.reserved,
                                            updated_at = EXCLUDED.updated_at
            """)
    }
}

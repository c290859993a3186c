import Checkout
public import EventSourcing
import Foundation
public import Projections

/// What each order bought and when its checkout completed, from checkout's order events on
/// Kafka: returns' own knowledge of purchases (it reads no table of checkout's). The command
/// service reads it to check a return (the context's grant).
public struct ReturnPurchasesProjection: Projection {
    public let name = "return-purchases"
    public let tables = ["return_purchases"]
    public let eventTypes: Set<String> = ["OrderPlaced", "OrderConfirmed"]
    public let streamTypes: Set<String> = [Order.category]
    public let knownEventTypes: Set<String> = Set(Order.codec.eventTypes)

    public init() {}

    public func apply(_ events: [RecordedEvent], to target: ProjectionTarget) async throws {
        var placed: (ids: [String], lines: [String]) = ([], [])
        var confirmed: (ids: [String], at: [Int64]) = ([], [])
        let encoder = JSONEncoder()
        for event in events {
            switch try Order.codec.decode(event.encoded) {
            case .placed(let e):
                placed.ids.append(e.orderId)
                placed.lines.append(String(decoding: try encoder.encode(e.lines), as: UTF8.self))
            case .confirmed(let e):
                confirmed.ids.append(e.orderId)
                confirmed.at.append(event.recordedAt.epochMicroseconds)
            case .cancelled: continue
            }
        }
        let table = target.table("return_purchases")
        if !placed.ids.isEmpty {
            try await target.run(
                """
                INSERT INTO \(unescaped: table) (order_id, lines) SELECT * FROM unnest(\(placed.ids)::text[], \(placed.lines)::jsonb[])
                ON CONFLICT (order_id) DO NOTHING
                """)
        }
        if !confirmed.ids.isEmpty {
            try await target.run(
                """
                UPDATE \(unescaped: table) p SET completed_at = 'epoch'::timestamptz + u.at * interval '1 microsecond'
                FROM unnest(\(confirmed.ids)::text[], \(confirmed.at)::int8[]) AS u(id, at) WHERE p.order_id = u.id
                """)
        }
    }
}

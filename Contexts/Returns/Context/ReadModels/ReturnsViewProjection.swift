public import EventSourcing
import Foundation
public import Projections
import Returns

/// One row per return: status, lines, amounts, reason and a timeline of what happened.
public struct ReturnsViewProjection: Projection {
    public let name = "returns"
    public let tables = ["returns"]
    public let eventTypes: Set<String> = Set(Return.codec.eventTypes)
    public let streamTypes: Set<String> = [Return.category]

    public init() {}

    public func apply(_ events: [RecordedEvent], to target: ProjectionTarget) async throws {
        let table = target.table("returns")
        for event in events {
            let at = event.recordedAt.epochMicroseconds
            switch try Return.codec.decode(event.encoded) {
            case .requested(let e):
                let lines = String(decoding: try JSONEncoder().encode(e.lines), as: UTF8.self)
                try await target.run(
                    """
                    INSERT INTO \(unescaped: table) (return_id, order_id, status, lines, amount_cents, reason, requested_at, updated_at, timeline)
                    VALUES (\(e.returnId), \(e.orderId), 'requested', \(lines)::jsonb, \(e.amountCents), \(e.reason),
                            'epoch'::timestamptz + \(at) * interval '1 microsecond', 'epoch'::timestamptz + \(at) * interval '1 microsecond',
                            jsonb_build_array(jsonb_build_object('at', \(at), 'event', 'ReturnRequested', 'detail', \(e.reason))))
                    ON CONFLICT (return_id) DO NOTHING
                    """)
            case .received(let e): try await update(target, table, e.returnId, to: "received", at: at, event: event.type, detail: "goods received")
            case .completed(let e):
                try await update(target, table, e.returnId, to: "completed", at: at, event: event.type, detail: "refunded \(e.refundedCents) cents", refunded: e.refundedCents)
            case .refundFailed(let e): try await update(target, table, e.returnId, to: "refund_failed", at: at, event: event.type, detail: e.reason)
            }
        }
    }

    private func update(_ target: ProjectionTarget, _ table: String, _ id: String, to status: String, at: Int64, event: String, detail: String, refunded: Int? = nil) async throws {
        try await target.run(
            """
            UPDATE \(unescaped: table) SET status = \(status), refunded_cents = coalesce(\(refunded), refunded_cents),
                   updated_at = 'epoch'::timestamptz + \(at) * interval '1 microsecond',
                   timeline = timeline || jsonb_build_array(jsonb_build_object('at', \(at), 'event', \(event), 'detail', \(detail)))
            WHERE return_id = \(id)
            """)
    }
}

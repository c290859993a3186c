import Checkout
import EventSourcing
import Foundation
import InvariantChecks
import PostgresNIO

/// Stock per SKU: folding the stream's events with the Stock decider gives no negative on-hand,
/// reservation or availability; on hand equals restocked minus committed; and the stock-levels
/// read model says the same.
struct StockBalances: Invariant {
    let name = "stock-balances"
    let summary = "per SKU, on hand = restocked - committed, reserved = open reservations, none negative, as the read model says"

    func check(_ context: CheckContext) async throws -> CheckResult {
        var streams: [String: (sku: String, events: [StockEvent])] = [:]
        for row in try await context.client.liveQuery(
            """
            SELECT stream_id, event_type, schema_version, payload::text FROM event_store.events
            WHERE stream_type = \(Stock.category) ORDER BY stream_id, stream_version
            """, logger: context.logger
        ) {
            let (stream, type, version, payload) = try row.decode((String, String, Int32, String).self)
            let event = try Stock.codec.decode(EncodedEvent(type: type, schemaVersion: Int(version), payload: Array(payload.utf8)))
            let sku = String(stream.dropFirst(Stock.category.count + 1))
            streams[stream, default: (sku, [])].events.append(event)
        }
        var levels: [String: (onHand: Int64, reserved: Int64)] = [:]
        if try await context.tableExists("read_models.stock_levels") {
            for row in try await context.client.liveQuery("SELECT sku, on_hand, reserved FROM read_models.stock_levels", logger: context.logger) {
                let (sku, onHand, reserved) = try row.decode((String, Int64, Int64).self)
                levels[sku] = (onHand, reserved)
            }
        }
        var violations: [String] = []
        for (_, stream) in streams.sorted(by: { $0.key < $1.key }) {
            let state = Stock.decider(sku: stream.sku).fold(stream.events)
            var restocked = 0
            var committed = 0
            for event in stream.events {
                if case .restocked(let e) = event { restocked += e.quantity }
                if case .committed(let e) = event { committed += e.quantity }
            }
            if state.onHand < 0 || state.reserved < 0 || state.available < 0 {
                violations.append("\(stream.sku): on hand \(state.onHand), reserved \(state.reserved), available \(state.available)")
            }
            if state.onHand != restocked - committed {
                violations.append("\(stream.sku): on hand \(state.onHand), but restocked \(restocked) - committed \(committed) = \(restocked - committed)")
            }
            if let level = levels[stream.sku], level.onHand != Int64(state.onHand) || level.reserved != Int64(state.reserved) {
                violations.append(
                    "\(stream.sku): the read model says on hand \(level.onHand), reserved \(level.reserved); the events say \(state.onHand), \(state.reserved)")
            }
        }
        return CheckResult(name: name, summary: summary, checked: Int64(streams.count), violations: violations)
    }
}

/// Each checkout saga command took effect at most once: no order has the same effect of the
/// saga twice on a stream (a command executed twice would record it twice). Refunds other
/// contexts ask for (returns: several per order, each its own refund id) are not the saga's;
/// its own is the one with its refund id, or a v1 event (only the saga refunded then).
struct EffectsOnce: Invariant {
    let name = "effects-once"
    let summary = "no order has the same effect of the checkout saga twice on one stream (each command executed at most once)"

    func check(_ context: CheckContext) async throws -> CheckResult {
        CheckResult(
            name: name, summary: summary,
            checked: try await context.count("SELECT count(*)::int8 FROM event_store.command_log"),
            violations: try await context.lines(
                """
                SELECT stream_id || ' ' || event_type || ' for ' || (payload->>'orderId') || ' ×' || count(*) FROM event_store.events
                WHERE event_type IN ('StockReserved', 'StockReservationRejected', 'StockReleased', 'StockCommitted',
                                     'PaymentAuthorized', 'PaymentDeclined', 'PaymentRefunded', 'OrderConfirmed', 'OrderCancelled')
                  AND (event_type <> 'PaymentRefunded' OR schema_version = 1
                       OR payload->>'refundId' = \(Payment.checkoutRefundIDPrefix) || (payload->>'orderId'))
                GROUP BY stream_id, event_type, payload->>'orderId' HAVING count(*) > 1
                """))
    }
}

/// What a finished checkout did agrees with how it finished: a completed one holds no
/// reservation and was not cancelled; a compensated one committed no stock, confirmed no order,
/// refunded what was authorized and released what it reserved.
struct OutcomesAgree: Invariant {
    let name = "outcomes-agree"
    let summary = "each finished checkout's effects agree with its outcome (nothing held, nothing contradicting)"

    func check(_ context: CheckContext) async throws -> CheckResult {
        guard try await context.tableExists("sagas.instances") else {
            return CheckResult(name: name, summary: summary, checked: 0, violations: [])
        }
        let contradictions = try await context.lines(
            """
            SELECT i.correlation_id || ' ' || i.status || ' but ' || e.event_type || ' on ' || e.stream_id FROM sagas.instances i
            JOIN event_store.events e ON e.payload->>'orderId' = i.correlation_id
            WHERE (i.status = 'completed' AND (e.event_type = 'OrderCancelled' OR (e.event_type = 'StockReleased' AND (e.payload->>'quantity')::int > 0)))
               OR (i.status = 'compensated' AND e.event_type IN ('StockCommitted', 'OrderConfirmed'))
               OR (i.status = 'compensated' AND e.event_type = 'PaymentAuthorized' AND NOT EXISTS (
                    SELECT 1 FROM event_store.events r WHERE r.stream_id = e.stream_id AND r.event_type = 'PaymentRefunded'))
            """)
        let held = try await context.lines(
            """
            SELECT r.stream_id || ' still held by ' || i.correlation_id || ', which is ' || i.status FROM event_store.events r
            JOIN sagas.instances i ON i.correlation_id = r.payload->>'orderId' AND i.status IN ('completed', 'compensated')
            WHERE r.event_type = 'StockReserved' AND NOT EXISTS (
                SELECT 1 FROM event_store.events s
                WHERE s.stream_id = r.stream_id AND s.event_type IN ('StockReleased', 'StockCommitted') AND s.payload->>'orderId' = r.payload->>'orderId')
            """)
        return CheckResult(
            name: name, summary: summary,
            checked: try await context.count("SELECT count(*)::int8 FROM sagas.instances WHERE status IN ('completed', 'compensated')"),
            violations: contradictions + held)
    }
}

import InvariantChecks
import PostgresNIO

/// A refund id is paid at most once, and an order's refunds never exceed what was captured.
struct RefundsWithinCaptured: Invariant {
    let name = "refunds-within-captured"
    let summary = "per order, refunds paid <= the amount captured, and each refund id paid once"

    func check(_ context: CheckContext) async throws -> CheckResult {
        let violations = try await context.lines(
            """
            SELECT 'order ' || r.order_id || ': refunded ' || r.refunded || ' of ' || coalesce(a.captured, 0) || ' captured, '
                   || r.payments || ' payments for ' || r.ids || ' refund ids'
            FROM (SELECT payload->>'orderId' AS order_id, sum((payload->>'amountCents')::int8) AS refunded, count(*) AS payments,
                         count(DISTINCT coalesce(payload->>'refundId', 'checkout-' || (payload->>'orderId'))) AS ids
                  FROM event_store.events WHERE event_type = 'PaymentRefunded' GROUP BY 1) r
            LEFT JOIN (SELECT payload->>'orderId' AS order_id, sum((payload->>'amountCents')::int8) AS captured
                       FROM event_store.events WHERE event_type = 'PaymentAuthorized' GROUP BY 1) a ON a.order_id = r.order_id
            WHERE r.refunded > coalesce(a.captured, 0) OR r.payments > r.ids
            """)
        let checked = try await context.count("SELECT count(DISTINCT payload->>'orderId')::int8 FROM event_store.events WHERE event_type = 'PaymentRefunded'")
        return CheckResult(name: name, summary: summary, checked: checked, violations: violations)
    }
}

/// What a received return took back is restocked, once: the restocks its process caused (their
/// correlation id is the return's id) add up to its lines.
struct RestockedAsReceived: Invariant {
    let name = "restocked-as-received"
    let summary = "per received return, the stock restocked under its id = the quantities returned, per SKU"

    func check(_ context: CheckContext) async throws -> CheckResult {
        let violations = try await context.lines(
            """
            SELECT 'return ' || coalesce(w.return_id, s.return_id) || ' ' || coalesce(w.sku, s.sku) || ': returned '
                   || coalesce(w.quantity, 0) || ', restocked ' || coalesce(s.quantity, 0)
            FROM (SELECT e.payload->>'returnId' AS return_id, l->>'sku' AS sku, sum((l->>'quantity')::int8) AS quantity
                  FROM event_store.events e, jsonb_array_elements(e.payload->'lines') l WHERE e.event_type = 'ReturnReceived' GROUP BY 1, 2) w
            FULL JOIN (SELECT correlation_id AS return_id, payload->>'sku' AS sku, sum((payload->>'quantity')::int8) AS quantity
                       FROM event_store.events WHERE event_type = 'StockRestocked'
                         AND correlation_id IN (SELECT payload->>'returnId' FROM event_store.events WHERE event_type = 'ReturnReceived')
                       GROUP BY 1, 2) s ON s.return_id = w.return_id AND s.sku = w.sku
            WHERE w.quantity IS DISTINCT FROM s.quantity
            """)
        let checked = try await context.count("SELECT count(*)::int8 FROM event_store.events WHERE event_type = 'ReturnReceived'")
        return CheckResult(name: name, summary: summary, checked: checked, violations: violations)
    }
}

/// Every received return ends: completed (refunded) or refund_failed (for an operator).
struct ReturnsEnd: Invariant {
    let name = "returns-end"
    let summary = "every received return is completed or refund_failed"

    func check(_ context: CheckContext) async throws -> CheckResult {
        let violations = try await context.lines(
            """
            SELECT 'return ' || (r.payload->>'returnId') || ' received but neither completed nor refund_failed'
            FROM event_store.events r WHERE r.event_type = 'ReturnReceived' AND NOT EXISTS (
                SELECT 1 FROM event_store.events e WHERE e.stream_id = r.stream_id AND e.event_type IN ('ReturnCompleted', 'ReturnRefundFailed')
                  AND e.payload->>'returnId' = r.payload->>'returnId')
            """)
        let checked = try await context.count("SELECT count(*)::int8 FROM event_store.events WHERE event_type = 'ReturnReceived'")
        return CheckResult(name: name, summary: summary, checked: checked, violations: violations)
    }
}

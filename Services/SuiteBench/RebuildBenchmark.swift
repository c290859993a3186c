import CheckoutSuite
import CheckoutReadModels
import EventStore
import Foundation
import Logging
import PostgresNIO
import Projections

/// Rebuild time of an aggregate-heavy read model (stock levels) and an insert-heavy one (order
/// summaries with their timeline) from a checkout history in the event store, each beside the
/// set-based SQL a person would write to compute the same rows from the same events.
struct RebuildBenchmark {
    let events: Int
    let client: PostgresClient
    let logger: Logger

    func run() async throws -> [BenchmarkResult] {
        let store = PostgresEventStore(client: client, logger: logger) { _ in "events" }
        try await store.migrate(roles: CheckoutNames.roles)
        let orders = max(1, events / BenchHistory.eventsPerOrder)
        try await BenchHistory.load(orders: orders, skus: 2_000, customers: 50_000, client: client, logger: logger)
        let total = Int(try await scalar("SELECT count(*)::int8 FROM event_store.events"))
        var results: [BenchmarkResult] = []
        for (projection, baseline) in [(StockLevelsProjection() as any Projection, Self.stockLevelsBaseline), (OrderSummaryProjection(), Self.orderSummaryBaseline)] {
            let rebuilt = try await timed { _ = try await ProjectionRebuilder(projection: projection, store: store, logger: logger).rebuild() }
            let plain = try await timed {
                for statement in baseline { _ = try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect() }
            }
            let rows = try await projection.tables.asyncMap { try await scalar("SELECT count(*)::int8 FROM read_models.\($0)") }
            results.append(
                BenchmarkResult(
                    name: "project.rebuild.\(projection.name)", throughput: Double(total) / rebuilt, unit: "events/s", p50_ms: 0, p99_ms: 0,
                    baseline_throughput: Double(total) / plain, ratio: plain / rebuilt, rounds: 1, operations: total,
                    details: [
                        "seconds": String(format: "%.1f", rebuilt), "baseline_seconds": String(format: "%.1f", plain), "events": "\(total)",
                        "orders": "\(orders)", "rows": rows.map(String.init).joined(separator: "+"),
                        "baseline": "the same rows computed by set-based SQL over event_store.events into tables with the same indexes",
                    ]))
        }
        return results
    }

    static let stockLevelsBaseline = [
        "DROP TABLE IF EXISTS public.baseline_stock_levels",
        "CREATE TABLE public.baseline_stock_levels (LIKE read_models.stock_levels INCLUDING ALL)",
        """
        INSERT INTO public.baseline_stock_levels (sku, on_hand, reserved, updated_at)
        SELECT payload->>'sku',
               sum(CASE event_type WHEN 'StockRestocked' THEN q WHEN 'StockCommitted' THEN -q ELSE 0 END),
               sum(CASE event_type WHEN 'StockReserved' THEN q WHEN 'StockReleased' THEN -q WHEN 'StockCommitted' THEN -q ELSE 0 END),
               max(recorded_at)
        FROM (SELECT event_type, payload, (payload->>'quantity')::int8 AS q, recorded_at FROM event_store.events
              WHERE event_type IN ('StockRestocked', 'StockReserved', 'StockReservationRejected', 'StockReleased', 'StockCommitted')) e
        GROUP BY 1
        """,
    ]

    static let orderSummaryBaseline = [
        "DROP TABLE IF EXISTS public.baseline_orders, public.baseline_order_timeline",
        "CREATE TABLE public.baseline_orders (LIKE read_models.orders INCLUDING ALL)",
        "CREATE TABLE public.baseline_order_timeline (LIKE read_models.order_timeline INCLUDING ALL)",
        """
        INSERT INTO public.baseline_orders (order_id, customer_id, status, lines, total_cents, payment_method, cancellation_reason, placed_at,
                                            updated_at, correlation_id)
        SELECT p.payload->>'orderId', p.payload->>'customerId',
               CASE s.event_type WHEN 'OrderConfirmed' THEN 'confirmed' WHEN 'OrderCancelled' THEN 'cancelled' ELSE 'pending' END,
               p.payload->'lines', (p.payload->>'totalCents')::int8, p.payload->>'paymentMethod', s.payload->>'reason', p.recorded_at,
               coalesce(s.recorded_at, p.recorded_at), p.correlation_id
        FROM event_store.events p
        LEFT JOIN (SELECT DISTINCT ON (payload->>'orderId') payload, event_type, recorded_at FROM event_store.events
                   WHERE event_type IN ('OrderConfirmed', 'OrderCancelled') ORDER BY payload->>'orderId', global_position DESC) s
               ON s.payload->>'orderId' = p.payload->>'orderId'
        WHERE p.event_type = 'OrderPlaced'
        """,
        """
        INSERT INTO public.baseline_order_timeline (order_id, stream_id, stream_version, at, event_type, detail)
        SELECT payload->>'orderId', stream_id, stream_version, recorded_at, event_type,
               CASE event_type
                   WHEN 'OrderPlaced' THEN format('placed by %s: %s line(s), %s cents, %s', payload->>'customerId',
                                                  jsonb_array_length(payload->'lines'), payload->>'totalCents', payload->>'paymentMethod')
                   WHEN 'OrderConfirmed' THEN 'confirmed'
                   WHEN 'OrderCancelled' THEN 'cancelled: ' || (payload->>'reason')
                   WHEN 'StockReserved' THEN format('reserved %s × %s', payload->>'quantity', payload->>'sku')
                   WHEN 'StockReservationRejected' THEN format('out of stock: %s × %s wanted, %s available', payload->>'quantity', payload->>'sku',
                                                               payload->>'available')
                   WHEN 'StockReleased' THEN format('released %s × %s', payload->>'quantity', payload->>'sku')
                   WHEN 'StockCommitted' THEN format('committed %s × %s', payload->>'quantity', payload->>'sku')
                   WHEN 'PaymentAuthorized' THEN format('payment authorized (%s), %s cents', payload->>'authorizationId', payload->>'amountCents')
                   WHEN 'PaymentDeclined' THEN 'payment declined: ' || (payload->>'reason')
                   ELSE format('payment refunded, %s cents', payload->>'amountCents')
               END
        FROM event_store.events
        WHERE event_type <> 'StockRestocked'
        ON CONFLICT DO NOTHING
        """,
    ]

    private func timed(_ body: () async throws -> Void) async throws -> Double {
        let clock = ContinuousClock()
        let started = clock.now
        try await body()
        return (clock.now - started).seconds
    }

    private func scalar(_ sql: String) async throws -> Int64 {
        try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect().first.map { try $0.decode(Int64.self) } ?? 0
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}

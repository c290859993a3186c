import Logging
import PostgresNIO

/// A checkout history written straight into the event store by one SQL statement (loading it
/// through appends would take longer than the rebuild it feeds): per order, OrderPlaced,
/// StockReserved, PaymentAuthorized, StockCommitted and OrderConfirmed, on the order's, its
/// SKU's and its payment's streams, with stream versions and global positions in log order.
enum BenchHistory {
    static let eventsPerOrder = 5

    static func load(orders: Int, skus: Int, customers: Int, client: PostgresClient, logger: Logger) async throws {
        _ = try await client.query(
            """
            WITH o AS (SELECT g AS n, 'SKU-' || (g % \(Int64(skus))) AS sku, 'customer-' || (g % \(Int64(customers))) AS customer
                       FROM generate_series(1, \(Int64(orders))) g),
            ev AS (
                SELECT n, 1 AS step, 'order-o' || n AS stream, 'order' AS stream_type, 'OrderPlaced' AS type, 2 AS schema,
                       jsonb_build_object('orderId', 'o' || n, 'customerId', customer, 'totalCents', 250, 'paymentMethod', 'card',
                                          'lines', jsonb_build_array(jsonb_build_object('sku', sku, 'quantity', 1, 'unitPriceCents', 250))) AS payload
                FROM o
                UNION ALL SELECT n, 2, 'stock-' || sku, 'stock', 'StockReserved', 1, jsonb_build_object('sku', sku, 'orderId', 'o' || n, 'quantity', 1) FROM o
                UNION ALL SELECT n, 3, 'payment-o' || n, 'payment', 'PaymentAuthorized', 1,
                                 jsonb_build_object('orderId', 'o' || n, 'amountCents', 250, 'authorizationId', 'auth-' || n) FROM o
                UNION ALL SELECT n, 4, 'stock-' || sku, 'stock', 'StockCommitted', 1, jsonb_build_object('sku', sku, 'orderId', 'o' || n, 'quantity', 1) FROM o
                UNION ALL SELECT n, 5, 'order-o' || n, 'order', 'OrderConfirmed', 1, jsonb_build_object('orderId', 'o' || n) FROM o)
            INSERT INTO event_store.events (global_position, event_id, stream_id, stream_type, stream_version, event_type, schema_version, payload,
                                            correlation_id, recorded_at)
            SELECT row_number() OVER (ORDER BY n, step), gen_random_uuid(), stream, stream_type,
                   row_number() OVER (PARTITION BY stream ORDER BY n, step), type, schema, payload, 'bench-' || n,
                   now() + n * interval '1 millisecond' + step * interval '1 microsecond'
            FROM ev
            """, logger: logger
        ).collect()
        _ = try await client.query(
            "SELECT setval('event_store.global_positions', (SELECT max(global_position) FROM event_store.events))", logger: logger
        ).collect()
        _ = try await client.query("VACUUM ANALYZE event_store.events", logger: logger).collect()
    }
}

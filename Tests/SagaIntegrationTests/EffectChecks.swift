import PostgresNIO
import SuiteTesting

/// Checks over the event store that hold after every checkout finished, however it got there.
enum EffectChecks {
    /// Effects recorded twice for one order on one stream: a command executed twice.
    static func duplicated(_ client: PostgresClient) async throws -> [String] {
        try await client.query(
            """
            SELECT stream_id || ' ' || event_type || ' ' || (payload->>'orderId') || ' ×' || count(*) FROM event_store.events
            WHERE event_type IN ('StockReserved', 'StockReservationRejected', 'StockReleased', 'StockCommitted',
                                 'PaymentAuthorized', 'PaymentDeclined', 'PaymentRefunded', 'OrderConfirmed', 'OrderCancelled')
            GROUP BY stream_id, event_type, payload->>'orderId' HAVING count(*) > 1
            """, logger: testLogger("checks")
        ).collect().map { try $0.decode(String.self) }
    }

    /// Reservations never released nor committed: stock reserved forever.
    static func heldReservations(_ client: PostgresClient) async throws -> [String] {
        try await client.query(
            """
            SELECT r.stream_id || ' held by ' || (r.payload->>'orderId') FROM event_store.events r
            WHERE r.event_type = 'StockReserved' AND NOT EXISTS (
                SELECT 1 FROM event_store.events s
                WHERE s.stream_id = r.stream_id AND s.event_type IN ('StockReleased', 'StockCommitted')
                  AND s.payload->>'orderId' = r.payload->>'orderId')
            """, logger: testLogger("checks")
        ).collect().map { try $0.decode(String.self) }
    }

    /// Outcomes that contradict the saga's terminal state: a completed checkout whose order was
    /// cancelled or whose stock was released, a compensated one with committed stock, a
    /// confirmed order or an unrefunded authorization.
    static func contradictions(_ client: PostgresClient) async throws -> [String] {
        try await client.query(
            """
            SELECT i.correlation_id || ' ' || i.status || ' but ' || e.event_type FROM sagas.instances i
            JOIN event_store.events e ON e.payload->>'orderId' = i.correlation_id
            WHERE (i.status = 'completed' AND (e.event_type = 'OrderCancelled' OR (e.event_type = 'StockReleased' AND (e.payload->>'quantity')::int > 0)))
               OR (i.status = 'compensated' AND e.event_type IN ('StockCommitted', 'OrderConfirmed'))
               OR (i.status = 'compensated' AND e.event_type = 'PaymentAuthorized' AND NOT EXISTS (
                    SELECT 1 FROM event_store.events r WHERE r.stream_id = e.stream_id AND r.event_type = 'PaymentRefunded'))
            """, logger: testLogger("checks")
        ).collect().map { try $0.decode(String.self) }
    }

    static func count(_ client: PostgresClient, _ sql: String) async throws -> Int64 {
        try await client.query(PostgresQuery(unsafeSQL: sql), logger: testLogger("checks")).collect().first?.decode(Int64.self) ?? -1
    }
}

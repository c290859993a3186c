import CheckoutSuite
import CheckoutReadModels
import EventSourcing
import EventStore
import Foundation
import PostgresNIO
import Projections
import SuiteTesting
import Testing

/// The rebuild's bulk path: `COPY` into shadow tables, secondary indexes built after the load,
/// stream positions written in the swap. Its rows must equal what the live path writes.
@Suite("Bulk rebuild")
struct BulkRebuildTests {
    static let rowsOf: [String: String] = [
        "orders": "SELECT order_id, customer_id, status, lines::text, total_cents, payment_method, cancellation_reason, placed_at, updated_at, correlation_id FROM read_models.orders ORDER BY order_id",
        "order_timeline": "SELECT * FROM read_models.order_timeline ORDER BY order_id, stream_id, stream_version",
        "customer_orders": "SELECT * FROM read_models.customer_orders ORDER BY order_id",
    ]

    @Test("order summaries and customer orders rebuilt with COPY equal the live rows, escapes included; indexes and positions are back")
    func bulkRebuildEqualsLive() async throws {
        var events = ReadModelSpecificationTests.checkouts()
        // A reason with every character COPY's text format escapes.
        let h = ReadModelSpecificationTests.History()
        h.placed("o9", customer: "dave", sku: "A", quantity: 1, price: 7)
        h.add("order-o9", "OrderCancelled", #"{"orderId":"o9","reason":"tab\there, newline\nthere, back\\slash \\N"}"#)
        events += h.events
        let history = events
        try await TestDatabase.withFresh { client, _ in
            let logger = testLogger("bulk-rebuild")
            let store = PostgresEventStore(client: client, logger: logger) { _ in "events" }
            try await store.migrate(roles: CheckoutNames.roles)
            try await migrateReadModels(client)
            for event in history {
                guard let stream = StreamName(event.streamID) else { throw QueryFailed(description: "bad stream \(event.streamID)") }
                _ = try await store.append(
                    to: stream, expected: .exact(event.streamVersion - 1),
                    events: [NewEvent(encoded: EncodedEvent(type: event.type, schemaVersion: event.schemaVersion, payload: event.payload), correlationID: event.correlationID)])
            }
            // readAll leaves out what a transaction still in flight might precede, and that is
            // cluster-wide (other tests' databases too): wait until every event is visible.
            var stored: [RecordedEvent] = []
            try await waitUntil("every appended event readable") {
                stored = try await store.readAll(after: 0, limit: 1_000)
                return stored.count == history.count
            }
            let events = stored
            let projections: [any Projection] = [OrderSummaryProjection(), CustomerProjection()]
            _ = try await client.withTransaction(logger: logger) { connection in
                for projection in projections { try await projection.applyNew(events, on: connection, logger: logger) }
            }
            let live = try await snapshot(client)
            let livePositions = try await positions(client)

            for projection in projections {
                var rebuilder = ProjectionRebuilder(projection: projection, store: store, logger: logger)
                rebuilder.chunk = 7  // several chunks, so orders placed in one are updated in a later one
                _ = try await rebuilder.rebuild()
            }
            #expect(try await snapshot(client) == live)
            let reason = try await client.query("SELECT cancellation_reason FROM read_models.orders WHERE order_id = 'o9'", logger: logger)
                .collect().first?.decode(String?.self)
            #expect(reason == "tab\there, newline\nthere, back\\slash \\N")
            #expect(try await positions(client) == livePositions)
            let indexes = try await client.query(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'read_models' AND tablename = 'customer_orders' ORDER BY indexname",
                logger: logger
            ).collect().map { try $0.decode(String.self) }
            #expect(indexes.contains { $0.contains("(customer_id, placed_at)") }, "the secondary index is built after the load: \(indexes)")
        }
    }

    private func snapshot(_ client: PostgresClient) async throws -> [String: [String]] {
        var rows: [String: [String]] = [:]
        for (table, query) in Self.rowsOf {
            rows[table] = try await client.query(PostgresQuery(unsafeSQL: "SELECT row_to_json(q)::text FROM (\(query)) q"), logger: testLogger("q"))
                .collect().map { try $0.decode(String.self) }
        }
        return rows
    }

    private func positions(_ client: PostgresClient) async throws -> [String] {
        try await client.query(
            "SELECT projection || ' ' || stream_id || ' ' || version FROM read_models.stream_positions ORDER BY 1", logger: testLogger("q")
        ).collect().map { try $0.decode(String.self) }
    }
}

import CheckoutSuite
import Checkout
import EventSourcing
import EventStore
import Foundation
import PostgresNIO
import SuiteTesting

/// A migrated event store in a fresh database.
func withEventStore<T: Sendable>(_ body: @Sendable (PostgresEventStore) async throws -> T) async throws -> T {
    try await TestDatabase.withFresh { client, _ in
        let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
        try await store.migrate(roles: CheckoutNames.roles)
        return try await body(store)
    }
}

func event(_ type: String = "Noted", _ body: String = "{}", correlation: String = "c") -> NewEvent {
    NewEvent(encoded: EncodedEvent(type: type, schemaVersion: 1, payload: Array(body.utf8)), correlationID: correlation)
}

extension AppendOutcome {
    var appended: AppendResult? { if case .appended(let result) = self { result } else { nil } }
}

/// Makes an append to `order-paused*` streams stop right after its events are inserted (inside
/// the statement, positions taken, not committed) until the test releases advisory lock 42.
func installInsertPause(_ client: PostgresClient) async throws {
    let logger = testLogger("pause")
    _ = try await client.query(
        """
        CREATE FUNCTION public.pause_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.stream_id LIKE 'order-paused%' THEN PERFORM pg_advisory_xact_lock(42); END IF;
            RETURN NEW;
        END $$
        """, logger: logger
    ).collect()
    _ = try await client.query(
        """
        CREATE TRIGGER pause_after_insert AFTER INSERT ON event_store.events
        FOR EACH ROW EXECUTE FUNCTION public.pause_after_insert()
        """, logger: logger
    ).collect()
}

/// Backends of this database waiting on a lock (row or advisory).
func waitingBackends(_ client: PostgresClient) async throws -> Int {
    try await client.query(
        """
        SELECT count(*)::int8 FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'
        """, logger: testLogger("q")
    ).collect().first.map { Int(try $0.decode(Int64.self)) } ?? 0
}

/// Holds a session until `release` yields, running `statements` first.
func holdConnection(
    _ client: PostgresClient, _ statements: [String], until release: AsyncStream<Void>, end: String?
) -> Task<Void, any Error> {
    Task {
        try await client.withConnection { connection in
            for statement in statements { _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: testLogger("hold")).collect() }
            for await _ in release { break }
            if let end { _ = try await connection.query(PostgresQuery(unsafeSQL: end), logger: testLogger("hold")).collect() }
        }
    }
}

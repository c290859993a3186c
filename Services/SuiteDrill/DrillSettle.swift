import Foundation
import JSONClient
import Logging
import PostgresNIO

/// Waits until the suite has nothing in flight, so that the invariant checker judges a final
/// state: no saga running, both outboxes published, every projection partition caught up.
struct DrillSettle: Sendable {
    let client: PostgresClient
    let http: JSONClient
    let projectorURL: String
    let logger: Logger

    /// What is still in flight, or nil once nothing is.
    func pending() async -> String? {
        do {
            let running = try await count("SELECT count(*)::int8 FROM sagas.instances WHERE status = 'running'")
            if running > 0 { return "\(running) sagas running" }
            let sagaless = try await ordersWithoutSaga()
            if sagaless > 0 { return "\(sagaless) orders without a saga yet" }
            // A received return whose process has not started yet runs no saga: wait for its end.
            let unended = try await receivedReturnsNotEnded()
            if unended > 0 { return "\(unended) received returns not ended yet" }
            let events = try await count("SELECT count(*)::int8 FROM event_store.outbox WHERE published_at IS NULL")
            let commands = try await count("SELECT count(*)::int8 FROM sagas.outbox WHERE published_at IS NULL")
            if events + commands > 0 { return "\(events) events and \(commands) commands unpublished" }
        } catch {
            return "PostgreSQL: \(String(reflecting: error))"
        }
        guard let answer = try? await http.send(.get, "\(projectorURL)/projections", timeout: .seconds(5)),
            answer.status == 200, let partitions = answer.json?["partitions"] as? [[String: Any]], !partitions.isEmpty
        else { return "projection status unavailable" }
        let behind = partitions.filter { ($0["lag"] as? Int).map { $0 != 0 } ?? true }
        return behind.isEmpty ? nil : "\(behind.count) projection partitions behind"
    }

    /// Nil once settled within `timeout`; otherwise what was still in flight.
    func wait(timeout: Duration) async -> String? {
        let deadline = ContinuousClock.now + timeout
        var last = await pending()
        while let still = last, ContinuousClock.now < deadline {
            logger.debug("settling", metadata: ["pending": "\(still)"])
            try? await Task.sleep(for: .milliseconds(500))
            last = await pending()
        }
        return last
    }

    /// A saga's instances by how they ended (`completed`, `compensated`, `failed`, `running`):
    /// `checkout` for the checkouts, `returns` for the returns processes.
    func sagaOutcomes(saga: String) async throws -> [String: Int] {
        var outcomes: [String: Int] = [:]
        let query: PostgresQuery = "SELECT status, count(*)::int8 FROM sagas.instances WHERE saga = \(saga) GROUP BY status"
        for row in try await client.liveQuery(query, logger: logger) {
            let (status, count) = try row.decode((String, Int64).self)
            outcomes[status] = Int(count)
        }
        return outcomes
    }

    /// Orders in the event store: each accepted checkout must be exactly one, however often its
    /// client retried the placement.
    func ordersInStore() async throws -> Int {
        try await count("SELECT count(*)::int8 FROM event_store.events WHERE stream_id LIKE 'order-%' AND stream_version = 1")
    }

    /// Placed orders whose checkout saga does not exist: a lost checkout once settled.
    func ordersWithoutSaga() async throws -> Int {
        try await count(
            """
            SELECT count(*)::int8 FROM event_store.events e
            WHERE e.stream_id LIKE 'order-%' AND e.stream_version = 1
              AND NOT EXISTS (SELECT 1 FROM sagas.instances i WHERE i.correlation_id = substr(e.stream_id, 7))
            """)
    }

    /// Returns received whose end (completed or refund_failed) is not in the event store yet:
    /// what suite-check's `returns-end` would count, while the suite may still finish them.
    func receivedReturnsNotEnded() async throws -> Int {
        try await count(
            """
            SELECT count(*)::int8 FROM event_store.events r WHERE r.event_type = 'ReturnReceived' AND NOT EXISTS (
                SELECT 1 FROM event_store.events e WHERE e.stream_id = r.stream_id AND e.event_type IN ('ReturnCompleted', 'ReturnRefundFailed')
                  AND e.payload->>'returnId' = r.payload->>'returnId')
            """)
    }

    /// Returns events in the event store by type (`ReturnRequested`, `ReturnReceived`,
    /// `ReturnCompleted`, `ReturnRefundFailed`): one per return each.
    func returnEvents() async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        let rows = try await client.liveQuery(
            """
            SELECT event_type, count(*)::int8 FROM event_store.events
            WHERE event_type IN ('ReturnRequested', 'ReturnReceived', 'ReturnCompleted', 'ReturnRefundFailed') GROUP BY 1
            """, logger: logger)
        for row in rows {
            let (type, count) = try row.decode((String, Int64).self)
            counts[type] = Int(count)
        }
        return counts
    }

    private func count(_ query: PostgresQuery) async throws -> Int {
        Int(try await client.liveQuery(query, logger: logger).first?.decode(Int64.self) ?? 0)
    }
}

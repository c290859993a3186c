/// Every committed event and saga command was published: after a run settles, no outbox row is
/// left unpublished (a relay that stopped for good, or a row it skipped, shows here).
public struct OutboxDrained: Invariant {
    public let name = "outbox-drained"
    public let summary = "every outbox row (events, saga commands) was published"

    public init() {}

    public func check(_ context: CheckContext) async throws -> CheckResult {
        var checked = try await context.count("SELECT count(*)::int8 FROM event_store.outbox")
        var violations = try await context.lines(
            """
            SELECT 'event ' || e.stream_id || ' v' || e.stream_version || ' (position ' || o.global_position || ') unpublished'
            FROM event_store.outbox o JOIN event_store.events e ON e.global_position = o.global_position
            WHERE o.published_at IS NULL ORDER BY o.global_position LIMIT 100
            """)
        var count = try await context.count("SELECT count(*)::int8 FROM event_store.outbox WHERE published_at IS NULL")
        if try await context.tableExists("sagas.outbox") {
            checked += try await context.count("SELECT count(*)::int8 FROM sagas.outbox")
            violations += try await context.lines(
                """
                SELECT 'command ' || command_id || ' (' || command_type || ' to ' || key || ') unpublished'
                FROM sagas.outbox WHERE published_at IS NULL ORDER BY position LIMIT 100
                """)
            count += try await context.count("SELECT count(*)::int8 FROM sagas.outbox WHERE published_at IS NULL")
        }
        return CheckResult(name: name, summary: summary, checked: checked, violations: violations, violationCount: count)
    }
}

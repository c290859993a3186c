/// Every saga ended (completed or compensated), or is still running towards a deadline that has
/// not passed: none failed, none waits for nothing, none is past its deadline.
public struct SagasSettled: Invariant {
    public let name = "sagas-settled"
    public let summary = "every saga is terminal, or running with a future deadline"

    public init() {}

    public func check(_ context: CheckContext) async throws -> CheckResult {
        guard try await context.tableExists("sagas.instances") else {
            return CheckResult(name: name, summary: summary, checked: 0, violations: [])
        }
        let unsettled = "status = 'failed' OR (status = 'running' AND (deadline_at IS NULL OR deadline_at <= now()))"
        return CheckResult(
            name: name, summary: summary, checked: try await context.count("SELECT count(*)::int8 FROM sagas.instances"),
            violations: try await context.lines(
                """
                SELECT saga || ' ' || correlation_id || ' is ' || status || ' in step ' || step
                       || coalesce(', deadline ' || deadline_at::text, ', no deadline') || coalesce(': ' || error, '')
                FROM sagas.instances WHERE \(unescaped: unsettled) ORDER BY updated_at LIMIT 100
                """),
            violationCount: try await context.count("SELECT count(*)::int8 FROM sagas.instances WHERE \(unescaped: unsettled)"))
    }
}

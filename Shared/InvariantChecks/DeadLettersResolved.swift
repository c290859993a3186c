/// No dead letter is left parked, beyond the number a drill parked on purpose.
public struct DeadLettersResolved: Invariant {
    public let name = "dead-letters-resolved"
    public let summary: String
    /// Parked letters that are expected (a drill's poison events).
    public let allowed: Int64

    public init(allowed: Int64 = 0) {
        self.allowed = allowed
        summary = allowed == 0 ? "no dead letter is left parked" : "at most \(allowed) dead letter(s) left parked, as the drill parked"
    }

    public func check(_ context: CheckContext) async throws -> CheckResult {
        guard try await context.tableExists("read_models.dead_letters") else {
            return CheckResult(name: name, summary: summary, checked: 0, violations: [])
        }
        let parked = try await context.count("SELECT count(*)::int8 FROM read_models.dead_letters WHERE status = 'parked'")
        let lines = parked > allowed
            ? try await context.lines(
                """
                SELECT 'dead letter ' || id || ': ' || projection || ' ' || stream_id || ' v' || stream_version || ' ' || event_type
                       || ': ' || left(error, 200)
                FROM read_models.dead_letters WHERE status = 'parked' ORDER BY id LIMIT 100
                """) : []
        return CheckResult(
            name: name, summary: summary, checked: try await context.count("SELECT count(*)::int8 FROM read_models.dead_letters"),
            violations: lines, violationCount: max(0, parked - allowed))
    }
}

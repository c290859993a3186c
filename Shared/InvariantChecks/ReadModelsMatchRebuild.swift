public import EventStore
public import Projections

/// Each read model equals a fresh build from the event store, row for row.
public struct ReadModelsMatchRebuild: Invariant {
    public let name = "read-models-match-rebuild"
    public let summary = "each read model equals a fresh build from the event store"
    public let readModels: [ReadModel]
    public let store: PostgresEventStore

    public init(readModels: [ReadModel], store: PostgresEventStore) {
        self.readModels = readModels
        self.store = store
    }

    public func check(_ context: CheckContext) async throws -> CheckResult {
        var checked: Int64 = 0
        var violations: [String] = []
        var count: Int64 = 0
        for readModel in readModels {
            let rebuilder = ProjectionRebuilder(projection: readModel.projection, store: store, logger: context.logger)
            for difference in try await rebuilder.differences() {
                checked += try await context.count("SELECT count(*)::int8 FROM read_models.\(unescaped: difference.table)")
                guard difference.rows > 0 else { continue }
                count += difference.rows
                violations.append("\(readModel.projection.name): \(difference.table) differs in \(difference.rows) row(s)")
                violations += difference.sample.map { "  \($0)" }
            }
        }
        return CheckResult(name: name, summary: summary, checked: checked, violations: violations, violationCount: count)
    }
}

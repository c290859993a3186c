public import Logging
public import PostgresNIO

/// One property that must hold after a run, checked from what PostgreSQL and Kafka hold.
public protocol Invariant: Sendable {
    /// Short and stable, for the table and for `--skip` ("events-on-kafka").
    var name: String { get }
    /// What it means, in a sentence.
    var summary: String { get }
    func check(_ context: CheckContext) async throws -> CheckResult
}

/// What checks read from.
public struct CheckContext: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// One integer from a query (a count).
    public func count(_ query: PostgresQuery) async throws -> Int64 {
        try await client.liveQuery(query, logger: logger).first?.decode(Int64.self) ?? 0
    }

    /// Whether a table exists (a deployment without sagas has no `sagas` schema).
    public func tableExists(_ qualifiedName: String) async throws -> Bool {
        try await client.liveQuery("SELECT to_regclass(\(qualifiedName)) IS NOT NULL", logger: logger).first?.decode(Bool.self) ?? false
    }

    /// One text column per row (a violation's description).
    public func lines(_ query: PostgresQuery) async throws -> [String] {
        try await client.liveQuery(query, logger: logger).map { try $0.decode(String.self) }
    }
}

/// How many things a check looked at and which of them break it.
public struct CheckResult: Sendable, Codable, Equatable {
    public var name: String
    public var summary: String
    public var checked: Int64
    public var violationCount: Int64
    /// The first violations, described (the count may be larger).
    public var violations: [String]

    public init(name: String, summary: String, checked: Int64, violations: [String], violationCount: Int64? = nil) {
        self.name = name
        self.summary = summary
        self.checked = checked
        self.violations = Array(violations.prefix(Self.shown))
        self.violationCount = violationCount ?? Int64(violations.count)
    }

    public static let shown = 20
    public var holds: Bool { violationCount == 0 }
}

/// Runs invariants one after another; one that cannot run is a violation of its own, never a
/// pass.
public struct InvariantChecker: Sendable {
    public let invariants: [any Invariant]

    public init(_ invariants: [any Invariant]) {
        self.invariants = invariants
    }

    public func run(_ context: CheckContext) async -> [CheckResult] {
        var results: [CheckResult] = []
        for invariant in invariants {
            do {
                results.append(try await invariant.check(context))
            } catch {
                results.append(
                    CheckResult(
                        name: invariant.name, summary: invariant.summary, checked: 0, violations: ["could not check: \(String(reflecting: error))"]))
            }
        }
        return results
    }
}

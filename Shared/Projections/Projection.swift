public import EventSourcing
public import Logging
public import PostgresNIO

/// A read model built from events. The runtime applies each event inside the PostgreSQL
/// transaction that also moves the partition checkpoint, so a projection must have no side
/// effects outside that transaction (a rebuild can never re-fire anything).
public protocol Projection: Sendable {
    /// Unique name: stream positions, dead letters and rebuilds are kept per projection.
    var name: String { get }
    /// The event types it applies; others pass by.
    var eventTypes: Set<String> { get }
    /// The `read_models` tables it owns; a rebuild writes shadow copies and swaps them in.
    var tables: [String] { get }
    func apply(_ event: RecordedEvent, to target: ProjectionTarget) async throws
}

/// Where a projection writes: the transaction's connection and the physical table names
/// (the live tables, or the shadow tables of a rebuild).
public struct ProjectionTarget: Sendable {
    public let connection: PostgresConnection
    public let logger: Logger
    let tableSuffix: String

    init(connection: PostgresConnection, logger: Logger, tableSuffix: String = "") {
        self.connection = connection
        self.logger = logger
        self.tableSuffix = tableSuffix
    }

    /// The qualified name to write `table` to, for `\(unescaped:)` in a query.
    public func table(_ table: String) -> String { "read_models.\(table)\(tableSuffix)" }

    @discardableResult
    public func run(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await connection.query(query, logger: logger).collect()
    }
}

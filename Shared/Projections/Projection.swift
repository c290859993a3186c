public import EventSourcing
public import Logging
public import PostgresNIO

/// A read model built from events. The runtime hands a projection a batch of events it has not
/// applied yet (each stream's events by version, redeliveries already removed) inside the
/// PostgreSQL transaction that also moves the consumer's checkpoint, so a projection must have
/// no side effects outside that transaction (a rebuild can never re-fire anything).
///
/// A projection folds the batch per row in memory, in event sequence, and writes each table with
/// one set-based statement (`INSERT … SELECT FROM unnest(…) ON CONFLICT … DO UPDATE`, an
/// `UPDATE … FROM unnest(…)`, or `COPY` while a rebuild loads an empty shadow table). The result
/// must not depend on where batch boundaries fall: the runtime also calls it with one event at
/// a time to find and park a poison event. `ProjectionSpecification` in `SuiteTesting` checks both.
public protocol Projection: Sendable {
    /// Unique name: stream positions, dead letters and rebuilds are kept per projection.
    var name: String { get }
    /// The event types it applies; others pass by.
    var eventTypes: Set<String> { get }
    /// The stream types whose every event it must understand: an event of one of these with a
    /// type not in `knownEventTypes` (written by newer code) is parked as a dead letter, not
    /// passed by.
    var streamTypes: Set<String> { get }
    /// The types it knows: those it applies and those it passes by on purpose.
    var knownEventTypes: Set<String> { get }
    /// The `read_models` tables it owns; a rebuild writes shadow copies and swaps them in.
    var tables: [String] { get }
    func apply(_ events: [RecordedEvent], to target: ProjectionTarget) async throws
}

extension Projection {
    /// None by default: a projection that names no stream types passes every other type by.
    public var streamTypes: Set<String> { [] }
    public var knownEventTypes: Set<String> { eventTypes }
}

/// Where a projection writes: the transaction's connection and the physical table names
/// (the live tables, or the shadow tables of a rebuild).
public struct ProjectionTarget: Sendable {
    public let connection: PostgresConnection
    public let logger: Logger
    /// True while a rebuild loads shadow tables that were empty when it started, before their
    /// secondary indexes exist: rows that are new for certain may be written with `COPY`.
    public let isBulkLoad: Bool
    let tableSuffix: String

    /// The live tables.
    public init(connection: PostgresConnection, logger: Logger) {
        self.init(connection: connection, logger: logger, tableSuffix: "", isBulkLoad: false)
    }

    init(connection: PostgresConnection, logger: Logger, tableSuffix: String, isBulkLoad: Bool) {
        self.connection = connection
        self.logger = logger
        self.tableSuffix = tableSuffix
        self.isBulkLoad = isBulkLoad
    }

    /// The qualified name to write `table` to, for `\(unescaped:)` in a query.
    public func table(_ table: String) -> String { "read_models.\(table)\(tableSuffix)" }

    @discardableResult
    public func run(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await connection.query(query, logger: logger).collect()
    }

    /// Loads rows with one `COPY … FROM STDIN` (text format), inside the caller's transaction.
    /// Values are text as PostgreSQL reads it for the column's type (`CopyText` formats
    /// timestamps); nil is NULL.
    public func copy(into table: String, columns: [String], rows: [[String?]]) async throws {
        guard !rows.isEmpty else { return }
        // PostgresNIO quotes the table name as one identifier, so the schema comes from the
        // transaction's search path.
        try await run("SELECT set_config('search_path', 'read_models', true)")
        try await connection.copyFrom(table: table + tableSuffix, columns: columns, logger: logger) { writer in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(64 * 1024)
            for row in rows {
                CopyText.append(row, to: &buffer)
                if buffer.readableBytes >= 60 * 1024 {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
        }
    }
}

public import EventSourcing
public import Foundation
public import Logging
public import PostgresNIO

/// One saga instance as operators see it (`GET /sagas/{id}`).
public struct SagaInstanceView: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public var at: Date
        public var kind: String
        public var detail: String
        public var step: String
        public var status: String
    }

    public var saga: String
    public var correlationId: String
    /// running | completed | compensated | failed
    public var state: String
    public var step: String
    public var version: Int64
    public var startedAt: Date
    public var updatedAt: Date
    /// When the instance will be woken up if the awaited reply does not come.
    public var deadline: Date?
    public var error: String?
    /// The saga's own state.
    public var data: JSONValue
    public var history: [Entry]?
}

/// Read-only queries over the saga tables, for the HTTP routes and the CLI.
public struct SagaQueries: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func instance(saga: String, correlationID: String) async throws -> SagaInstanceView? {
        guard
            var view = try await client.liveQuery(
                """
                SELECT saga, correlation_id, status, step, version, started_at, updated_at, deadline_at, error, state::text
                FROM sagas.instances WHERE saga = \(saga) AND correlation_id = \(correlationID)
                """, logger: logger
            ).first.map(Self.view(from:))
        else { return nil }
        view.history = try await client.liveQuery(
            """
            SELECT at, kind, detail, step, status FROM sagas.history
            WHERE saga = \(saga) AND correlation_id = \(correlationID) ORDER BY id
            """, logger: logger
        ).map { row in
            let (at, kind, detail, step, status) = try row.decode((Date, String, String, String, String).self)
            return SagaInstanceView.Entry(at: at, kind: kind, detail: detail, step: step, status: status)
        }
        return view
    }

    /// Instances newest first, optionally of one status.
    public func list(saga: String, status: SagaStatus?, limit: Int) async throws -> [SagaInstanceView] {
        try await client.liveQuery(
            """
            SELECT saga, correlation_id, status, step, version, started_at, updated_at, deadline_at, error, state::text
            FROM sagas.instances WHERE saga = \(saga) AND (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
            ORDER BY updated_at DESC LIMIT \(limit)
            """, logger: logger
        ).map(Self.view(from:))
    }

    /// Instance counts per status.
    public func counts(saga: String) async throws -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for row in try await client.liveQuery(
            "SELECT status, count(*)::int8 FROM sagas.instances WHERE saga = \(saga) GROUP BY status", logger: logger
        ) {
            let (status, count) = try row.decode((String, Int64).self)
            counts[status] = count
        }
        return counts
    }

    private static func view(from row: PostgresRow) throws -> SagaInstanceView {
        let (saga, correlationID, status, step, version, startedAt, updatedAt, deadline, error, stateText) =
            try row.decode((String, String, String, String, Int64, Date, Date, Date?, String?, String).self)
        let data = (try? JSONDecoder().decode(JSONValue.self, from: Data(stateText.utf8))) ?? .null
        return SagaInstanceView(
            saga: saga, correlationId: correlationID, state: status, step: step, version: version, startedAt: startedAt,
            updatedAt: updatedAt, deadline: deadline, error: error, data: data)
    }
}

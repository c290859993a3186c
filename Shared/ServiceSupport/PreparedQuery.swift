package import Logging
package import PostgresNIO
import Synchronization

/// A hot query whose SQL text is the same at every call (every value a bind), run as a prepared
/// statement: PostgreSQL parses and plans it once per connection instead of at every call. The
/// saga store's write (ten CTEs) spent longer being planned than executed (measured with
/// pg_stat_statements' planning time under the suite's benchmark load: 2.6 ms of planning a call).
///
/// A tag type names the statement; its text is taken from the first call. A later call whose
/// text differs (it would be a bug: the text is meant to be fixed) runs as a plain query. So do
/// later calls on a connection where the prepared statement failed once: PostgresNIO keeps a
/// failed preparation (a lock timeout behind a migration's DDL, a cancel) for the connection's
/// life and answers every later call with that error without asking the server.
package protocol PreparedQueryTag {
    static var statementName: String { get }
    static var text: PreparedQueryText { get }
}

/// Where a tag keeps its statement's text.
package final class PreparedQueryText: Sendable {
    let sql = Mutex<String?>(nil)
    /// Connections on which the statement failed (plain queries there from then on).
    let failedOn = Mutex<Set<ObjectIdentifier>>([])
    package init() {}
}

struct PreparedQuery<Tag: PreparedQueryTag>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var name: String { Tag.statementName }
    static var sql: String { Tag.text.sql.withLock { $0 ?? "" } }
    let binds: PostgresBindings

    func makeBindings() -> PostgresBindings { binds }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

extension PostgresConnection {
    /// Runs `query` as the prepared statement `tag` names (see `PreparedQueryTag`).
    package func prepared<Tag: PreparedQueryTag>(_ query: PostgresQuery, as tag: Tag.Type, logger: Logger) async throws -> [PostgresRow] {
        let fixed = Tag.text.sql.withLock { text in
            if text == nil { text = query.sql }
            return text == query.sql
        }
        let connection = ObjectIdentifier(self)
        guard fixed, !Tag.text.failedOn.withLock({ $0.contains(connection) }) else { return try await self.query(query, logger: logger).collect() }
        do {
            let rows: AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow> = try await execute(PreparedQuery<Tag>(binds: query.binds), logger: logger)
            var collected: [PostgresRow] = []
            for try await row in rows { collected.append(row) }
            return collected
        } catch {
            // Whether the preparation or the execution failed is not told apart: either way the
            // caller's transaction is over, and plain queries are always right.
            _ = Tag.text.failedOn.withLock { $0.insert(connection) }
            throw error
        }
    }
}

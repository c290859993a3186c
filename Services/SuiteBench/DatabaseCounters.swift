import Logging
import PostgresNIO

/// PostgreSQL's own counters of the work a phase caused, from `pg_stat_database` (commits, rows
/// inserted, updated and deleted) and `pg_stat_wal` (records and bytes): divided by the
/// phase's checkouts, the cost of one checkout in rows and commits, whatever process wrote them.
/// Backends publish their counts at most once a second when idle, so a reading waits that long.
struct DatabaseCounters {
    var commits: Int64
    var rowsWritten: Int64
    var walRecords: Int64
    var walBytes: Int64

    static func read(_ client: PostgresClient, logger: Logger) async throws -> DatabaseCounters {
        try await Task.sleep(for: .milliseconds(1_500))
        let databaseRows = try await client.query(
            "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = current_database()", logger: logger
        ).collect()
        let walRows = try await client.query("SELECT wal_records, wal_bytes::int8 FROM pg_stat_wal", logger: logger).collect()
        var database: (Int64, Int64) = (0, 0)
        if let row = databaseRows.first { database = try row.decode((Int64, Int64).self) }
        var wal: (Int64, Int64) = (0, 0)
        if let row = walRows.first { wal = try row.decode((Int64, Int64).self) }
        return DatabaseCounters(commits: database.0, rowsWritten: database.1, walRecords: wal.0, walBytes: wal.1)
    }

    /// Per checkout, from `before` to this reading, as the benchmark's details.
    func perCheckout(since before: DatabaseCounters, checkouts: Int) -> [String: String] {
        guard checkouts > 0 else { return [:] }
        let n = Double(checkouts)
        return [
            "commits_per_checkout": String(format: "%.1f", Double(commits - before.commits) / n),
            "rows_written_per_checkout": String(format: "%.1f", Double(rowsWritten - before.rowsWritten) / n),
            "wal_records_per_checkout": String(format: "%.1f", Double(walRecords - before.walRecords) / n),
            "wal_kb_per_checkout": String(format: "%.1f", Double(walBytes - before.walBytes) / n / 1024),
        ]
    }
}

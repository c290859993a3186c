import Logging
import PostgresNIO
import ServiceHTTP
import ServiceSupport

/// Runs the contexts' own grants (`BoundedContext.grants`) after a service's migrations, in one
/// transaction under an advisory lock: the three services start together, and two concurrent
/// GRANTs on one object fail in PostgreSQL ("tuple concurrently updated").
enum SuiteGrants {
    /// "GRANTS" in ASCII: the lock every service takes for this step.
    static let lockKey: Int64 = 0x4752_414E_5453

    static func run(_ suite: Suite, on context: ServiceContext) async throws {
        try await run(suite.contexts.flatMap { $0.grants(context.roles) }, on: context.migrationPostgres, logger: context.logger)
    }

    static func run(_ statements: [String], on client: PostgresClient, logger: Logger) async throws {
        guard !statements.isEmpty else { return }
        // A migration of another service may grant on the same schema under its own lock at the
        // same moment (first start): that one conflict is retried.
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await grant(statements, on: client, logger: logger)
            } catch where attempt < 5 && DatabaseErrors.sqlState(of: error) == "XX000" {
                try await Task.sleep(for: .milliseconds(100 * attempt))
            }
        }
    }

    private static func grant(_ statements: [String], on client: PostgresClient, logger: Logger) async throws {
        _ = try await client.liveTransaction(logger: logger) { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger).collect()
            for statement in statements {
                _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
            }
            return true
        }
    }
}

public import Logging
public import PostgresNIO

/// One versioned schema change. Statements run in one transaction with the version record.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    public var statements: [String]

    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// Applies a schema owner's migrations at start-up. An advisory lock serialises instances that
/// start together; each migration commits with its row in `<schema>.<ledger>`
/// (`schema_migrations` unless a part of the schema numbers its migrations on its own, as each
/// read model does).
public struct Migrator: Sendable {
    public let schema: String
    public let ledger: String
    public let migrations: [Migration]
    /// Idempotent statements run after the migrations at every start (roles and grants), so
    /// that tables added by any later migration are covered too.
    public let privileges: [String]

    public init(schema: String, ledger: String = "schema_migrations", migrations: [Migration], privileges: [String] = []) {
        precondition(schema.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "schema names are plain identifiers")
        precondition(ledger.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "ledger names are plain identifiers")
        self.schema = schema
        self.ledger = ledger
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.privileges = privileges
    }

    /// Returns the versions it applied (empty when the schema was up to date).
    @discardableResult
    public func run(on client: PostgresClient, logger: Logger) async throws -> [Int] {
        let lockKey = Self.lockKey(schema)
        return try await client.withLiveConnection { connection in
            // Waiting for another instance's migrations is legitimate however long they take:
            // this wait alone is exempt from the session's lock timeout (`TransactionBounds`).
            _ = try await connection.query("SET lock_timeout = 0", logger: logger).collect()
            _ = try await connection.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger).collect()
            _ = try await connection.query("RESET lock_timeout", logger: logger).collect()
            do {
                let applied = try await apply(on: connection, logger: logger)
                _ = try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger).collect()
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger).collect()
                throw error
            }
        }
    }

    private func apply(on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger).collect()
        _ = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS \(schema).\(ledger) (
                        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                    """), logger: logger
        ).collect()
        var done: Set<Int> = []
        for try await version in try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT version FROM \(schema).\(ledger)"), logger: logger
        ).decode(Int.self) {
            done.insert(version)
        }
        var applied: [Int] = []
        for migration in migrations where !done.contains(migration.version) {
            try await connection.withTransaction(logger: logger) { transaction in
                for statement in migration.statements {
                    _ = try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
                }
                _ = try await transaction.query(
                    "INSERT INTO \(unescaped: schema).\(unescaped: ledger) (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger
                ).collect()
            }
            logger.info("migration applied", metadata: ["schema": "\(schema)", "version": "\(migration.version)", "name": "\(migration.name)"])
            applied.append(migration.version)
        }
        if !privileges.isEmpty {
            try await connection.withTransaction(logger: logger) { transaction in
                for statement in privileges {
                    _ = try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
                }
            }
        }
        return applied
    }

    /// A stable 63-bit key per schema (FNV-1a), the same in every process.
    static func lockKey(_ schema: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "migrations:\(schema)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash & 0x7fff_ffff_ffff_ffff)
    }
}

package import Logging
package import PostgresNIO

/// One leader among several instances, through a PostgreSQL advisory lock held on a connection
/// the leader keeps: the relays use it so that one instance publishes and the others stand by,
/// taking over within `standbyInterval` when the leader's connection goes away.
package struct AdvisoryLeadership: Sendable {
    package let client: PostgresClient
    package let lockKey: Int64
    /// Who leads, for the log ("outbox relay").
    package let role: String
    package let standbyInterval: Duration
    package let logger: Logger

    package init(client: PostgresClient, lockKey: Int64, role: String, standbyInterval: Duration, logger: Logger) {
        self.client = client
        self.lockKey = lockKey
        self.role = role
        self.standbyInterval = standbyInterval
        self.logger = logger
    }

    /// Runs `lead` whenever this instance holds the lock, until the task is cancelled; a
    /// failure gives the lock back and tries again a second later.
    package func run(lead: @escaping @Sendable (RelayConnection) async throws -> Void) async {
        while !Task.isCancelled {
            do {
                try await client.withLiveConnection { pooled in try await leadOnce(on: pooled, lead: lead) }
            } catch is CancellationError {
                return
            } catch {
                guard !Task.isCancelled else { return }
                logger.error("\(role) failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func leadOnce(on pooled: PostgresConnection, lead: @Sendable (RelayConnection) async throws -> Void) async throws {
        let connection = RelayConnection(connection: pooled, logger: logger)
        let acquired = try await connection.run("SELECT pg_try_advisory_lock(\(lockKey))").first?.decode(Bool.self) ?? false
        guard acquired else {
            try await Task.sleep(for: standbyInterval)
            return
        }
        logger.info("\(role) is leading")
        defer { logger.info("\(role) stopped leading") }
        do {
            try await lead(connection)
        } catch {
            await unlock(connection)
            throw error
        }
        await unlock(connection)
    }

    /// Gives the lock back; a closed connection already released it (and a query on it must
    /// not be attempted: it would never complete).
    private func unlock(_ connection: RelayConnection) async {
        _ = try? await connection.run("SELECT pg_advisory_unlock(\(lockKey))")
    }
}

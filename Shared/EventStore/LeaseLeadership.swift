package import Foundation
package import Logging
package import PostgresNIO
import Synchronization

/// One leader among several instances, through a fenced lease: a row of `<schema>.relay_lease`
/// naming its owner and an expiry the leader renews. A standby takes the row over once it has
/// expired, so a leader that is paused (SIGSTOP, a frozen VM) or cut off loses the lead within
/// `duration` (an advisory lock stayed with a paused leader's open session for good, and any
/// role could take it). The leader renews the lease before each send and marks rows published
/// only in a transaction that renewed it (and so holds its row locked): a leader that resumes
/// after a standby took over finds the lease gone and stops, without sending or marking.
/// Only the role that may UPDATE the table (the schema's writer) can take a lease.
package struct LeaseLeadership: Sendable {
    package struct Lost: Error, CustomStringConvertible {
        package var role: String
        package var description: String { "\(role): the lease was taken over by another instance" }
    }

    package let client: PostgresClient
    /// The lease table (`event_store.relay_lease`, `sagas.relay_lease`).
    package let table: String
    /// Who leads: the row's key and the log's name ("outbox relay").
    package let role: String
    package let duration: Duration
    package let standbyInterval: Duration
    package let logger: Logger
    /// This instance, as the lease's owner.
    package let owner = UUID()
    /// Whether this instance leads now.
    package let state = LeadershipState()

    package init(client: PostgresClient, table: String, role: String, duration: Duration, standbyInterval: Duration, logger: Logger) {
        self.client = client
        self.table = table
        self.role = role
        self.duration = duration
        self.standbyInterval = standbyInterval
        self.logger = logger
    }

    /// The lease table, for a schema's migrations.
    package static func createTable(_ table: String) -> String {
        "CREATE TABLE \(table) (relay text PRIMARY KEY, owner uuid NOT NULL, expires_at timestamptz NOT NULL)"
    }

    /// Runs `lead` whenever this instance holds the lease, until the task is cancelled; a
    /// failure (the lease lost included) ends the lead and it tries again a second later.
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
        guard try await claim(on: connection) else {
            try await Task.sleep(for: standbyInterval)
            return
        }
        // Names the leader's session in pg_stat_activity (and for the tests).
        try await connection.run("SELECT set_config('application_name', \(role), false)")
        state.set(true)
        logger.info("\(role) is leading")
        defer {
            state.set(false)
            logger.info("\(role) stopped leading")
        }
        do {
            try await lead(connection)
        } catch {
            await release(connection)
            throw error
        }
        await release(connection)
    }

    /// Takes the lease if it is free or expired, renews it if this instance holds it; false when
    /// another instance holds it. Inside a transaction it keeps the row locked until the end.
    private func claim(on connection: RelayConnection) async throws -> Bool {
        let seconds = duration.timeInterval
        let rows = try await connection.run(
            """
            INSERT INTO \(unescaped: table) AS lease (relay, owner, expires_at) VALUES (\(role), \(owner), now() + make_interval(secs => \(seconds)))
            ON CONFLICT (relay) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
            WHERE lease.owner = excluded.owner OR lease.expires_at < now()
            RETURNING owner
            """)
        return !rows.isEmpty
    }

    /// Renews the lease, or throws `Lost` when another instance has taken it.
    package func confirm(on connection: RelayConnection) async throws {
        guard try await claim(on: connection) else {
            state.set(false)
            throw Lost(role: role)
        }
    }

    /// Runs `body` in a transaction that first renews the lease (so it holds the lease's row
    /// until the commit: a takeover waits, and cannot happen in between); `Lost` without
    /// running `body` when another instance has taken it.
    package func fenced(on connection: RelayConnection, _ body: (RelayConnection) async throws -> Void) async throws {
        try await connection.run("BEGIN")
        do {
            try await confirm(on: connection)
            try await body(connection)
            try await connection.run("COMMIT")
        } catch {
            _ = try? await connection.run("ROLLBACK")
            throw error
        }
    }

    /// Lets a standby take over at once (best effort: an expired lease is taken anyway).
    private func release(_ connection: RelayConnection) async {
        _ = try? await connection.run("UPDATE \(unescaped: table) SET expires_at = now() WHERE relay = \(role) AND owner = \(owner)")
    }
}

/// Whether an instance leads (tests and logs read it).
package final class LeadershipState: Sendable {
    private let leading = Atomic<Bool>(false)

    package var isLeading: Bool { leading.load(ordering: .acquiring) }

    func set(_ value: Bool) { leading.store(value, ordering: .releasing) }
}

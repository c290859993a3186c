import Foundation
import PostgresNIO
import ServiceSupport
import SuiteTesting
import Testing

/// Every connection bounds its transactions' lock waits and idle time (`TransactionBounds`, set
/// at connection start by `DatabaseURL`): a paused process's transaction is ended by the
/// server and its locks freed, and nobody waits for a lock forever (issue 22).
@Suite("Bounded lock waits and idle transactions")
struct TransactionBoundsTests {
    /// A client of `url` with short bounds, for the duration of `body`.
    private func withBoundedClient(
        _ url: String, lockMilliseconds: Int, idleMilliseconds: Int, _ body: @Sendable (PostgresClient) async throws -> Void
    ) async throws {
        var database = try DatabaseURL(url)
        database.bounds = TransactionBounds(lockTimeoutMilliseconds: lockMilliseconds, idleInTransactionMilliseconds: idleMilliseconds)
        let client = PostgresClient(configuration: database.clientConfiguration, backgroundLogger: testLogger("bounded"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }

    @Test("every connection starts with the default bounds")
    func defaultsApplied() async throws {
        try await TestDatabase.withFresh { client, _ in
            let logger = testLogger("bounds")
            let settings = try await client.liveQuery(
                "SELECT current_setting('lock_timeout'), current_setting('idle_in_transaction_session_timeout')", logger: logger
            ).first?.decode((String, String).self)
            #expect(settings?.0 == "30s" && settings?.1 == "10s", "\(String(describing: settings))")
        }
    }

    @Test("a transaction left idle holding a row lock is ended by the server within the bound, and the waiter goes on")
    func idleTransactionEnded() async throws {
        try await TestDatabase.withFresh { _, url in
            try await withBoundedClient(url, lockMilliseconds: 20_000, idleMilliseconds: 1_000) { client in
                let logger = testLogger("idle")
                try await client.liveQuery("CREATE TABLE held (id int PRIMARY KEY, n int)", logger: logger)
                try await client.liveQuery("INSERT INTO held VALUES (1, 0)", logger: logger)
                let (locked, announce) = AsyncStream<Void>.makeStream()
                // The paused process: it locks the row, then does nothing for a minute.
                let paused = Task {
                    try await client.liveTransaction(logger: logger) { connection in
                        try await connection.query("SELECT n FROM held WHERE id = 1 FOR UPDATE", logger: logger)
                        announce.yield()
                        try await Task.sleep(for: .seconds(60))
                        try await connection.query("UPDATE held SET n = 100 WHERE id = 1", logger: logger)
                    }
                }
                for await _ in locked { break }
                let started = ContinuousClock.now
                let waiter = Task { try await client.liveQuery("UPDATE held SET n = n + 1 WHERE id = 1", logger: logger) }
                try await waitUntil("the waiter to get the row", timeout: .seconds(15)) {
                    try await client.liveQuery("SELECT n FROM held WHERE id = 1", logger: logger).first?.decode(Int.self) == 1
                }
                #expect(ContinuousClock.now - started < .seconds(15))
                _ = try await waiter.value
                paused.cancel()
                let outcome = await paused.result
                #expect((try? outcome.get()) == nil, "the paused transaction did not commit")
                #expect(try await client.liveQuery("SELECT n FROM held WHERE id = 1", logger: logger).first?.decode(Int.self) == 1)
            }
        }
    }

    @Test("a statement waiting for a lock held by a busy transaction fails with 55P03 within the bound")
    func lockWaitBounded() async throws {
        try await TestDatabase.withFresh { _, url in
            try await withBoundedClient(url, lockMilliseconds: 1_000, idleMilliseconds: 60_000) { client in
                let logger = testLogger("lock")
                try await client.liveQuery("CREATE TABLE held (id int PRIMARY KEY, n int)", logger: logger)
                try await client.liveQuery("INSERT INTO held VALUES (1, 0)", logger: logger)
                let (locked, announce) = AsyncStream<Void>.makeStream()
                // Busy, not idle: the holder runs a long statement while it keeps the lock.
                let busy = Task {
                    try await client.liveTransaction(logger: logger) { connection in
                        try await connection.query("SELECT n FROM held WHERE id = 1 FOR UPDATE", logger: logger)
                        announce.yield()
                        try await connection.query("SELECT pg_sleep(8)", logger: logger)
                    }
                }
                for await _ in locked { break }
                let started = ContinuousClock.now
                do {
                    try await client.liveQuery("UPDATE held SET n = n + 1 WHERE id = 1", logger: logger)
                    Issue.record("the update got the lock while the holder still ran")
                } catch {
                    #expect(DatabaseErrors.sqlState(of: error) == "55P03", "\(DatabaseErrors.describe(error))")
                    #expect(DatabaseErrors.isTransient(error))
                }
                #expect(ContinuousClock.now - started < .seconds(6))
                _ = try? await busy.value
            }
        }
    }
}

import Foundation
import PostgresNIO
import ServiceSupport
import SuiteTesting
import Testing

/// PostgresNIO 1.33 loses a statement written to a connection the server has just closed, and
/// the caller waits forever (see `LiveConnection.swift`). That is what stalled every service
/// for 45 s, or for good, after a PostgreSQL restart. A lease that races its connection's
/// close fails at once instead, and the caller retries on a new connection.
@Suite("Statements on a connection the server closed")
struct ClosedConnectionTests {
    @Test("a statement after the server closed the connection fails at once with ConnectionClosed")
    func statementAfterClose() async throws {
        try await TestDatabase.withFresh { client, _ in
            let outcome = try await client.withConnection { connection in
                try await terminate(connection, using: client)
                return await answer(within: .seconds(20)) {
                    try await connection.failingOnClose { try await $0.query("SELECT 1", logger: testLogger("closed")).collect().count }
                }
            }
            #expect(outcome == .closed)
        }
    }

    @Test("a transaction whose connection closes between two statements fails at once, and the next one commits")
    func transactionClosedBetweenStatements() async throws {
        try await TestDatabase.withFresh { client, _ in
            let logger = testLogger("closed")
            try await client.query("CREATE TABLE noted (n int)", logger: logger)
            let outcome = await answer(within: .seconds(20)) {
                try await client.liveTransaction(logger: logger) { connection in
                    try await connection.query("INSERT INTO noted VALUES (1)", logger: logger)
                    try await terminate(connection, using: client)
                    try await connection.query("INSERT INTO noted VALUES (2)", logger: logger)
                    return 2
                }
            }
            #expect(outcome == .closed)
            try await client.liveTransaction(logger: logger) { connection in _ = try await connection.query("INSERT INTO noted VALUES (3)", logger: logger) }
            let rows = try await client.liveQuery("SELECT n FROM noted ORDER BY n", logger: logger).map { try $0.decode(Int.self) }
            #expect(rows == [3])
        }
    }

    enum Outcome: Equatable {
        case answered
        case closed
        case failed(String)
        case noAnswer
    }

    /// Kills the connection's backend from another connection and waits until the client has
    /// seen the close, so that the next statement is written to a closed channel.
    private func terminate(_ connection: PostgresConnection, using client: PostgresClient) async throws {
        let logger = testLogger("closed")
        let pid = try await connection.query("SELECT pg_backend_pid()", logger: logger).collect().first?.decode(Int32.self)
        try #require(pid != nil)
        try await client.withConnection { other in
            _ = try await other.query("SELECT pg_terminate_backend(\(pid))", logger: logger).collect()
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while !connection.isClosed, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try #require(connection.isClosed, "the client never saw the server close the connection")
    }

    /// The operation's outcome, or `noAnswer` if it has not answered within `limit` (the bug:
    /// without the race it would wait forever, so the test must not).
    private func answer(within limit: Duration, _ operation: @escaping @Sendable () async throws -> Int) async -> Outcome {
        let (outcomes, continuation) = AsyncStream<Outcome>.makeStream()
        let work = Task {
            do {
                _ = try await operation()
                continuation.yield(.answered)
            } catch is ConnectionClosed {
                continuation.yield(.closed)
            } catch {
                continuation.yield(.failed("\(error)"))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            continuation.yield(.noAnswer)
        }
        var iterator = outcomes.makeAsyncIterator()
        let first = await iterator.next() ?? .noAnswer
        timer.cancel()
        _ = work
        return first
    }
}

package import Logging
package import PostgresNIO
import ServiceSupport

/// The relay's own connection (it carries the relay's advisory lock). Every statement races the
/// connection's close (see `failingOnClose`): a closed connection ends the lead at once, and
/// the relay starts over on a new connection.
package struct RelayConnection {
    package struct Lost: Error, CustomStringConvertible {
        package var reason: String
        package var description: String { "relay connection lost: \(reason)" }
    }

    package init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    package let connection: PostgresConnection
    package let logger: Logger

    /// Runs `body` while this connection LISTENs on `channel`: `wakeups` yields when a
    /// notification arrives and, as a safety net, every `interval` without one (at most one
    /// wake-up is kept, so a burst of notifications during a round wakes the next round once).
    package func listening<T: Sendable>(
        on channel: String, orEvery interval: Duration, _ body: @escaping @Sendable (_ wakeups: AsyncStream<Void>) async throws -> T
    ) async throws -> T {
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        do {
            return try await connection.failingOnClose { connection in
                try await connection.listen(on: channel) { notifications in
                    try await withThrowingTaskGroup(of: T?.self) { group in
                        group.addTask {
                            for try await _ in notifications { wake.yield() }
                            throw Lost(reason: "notifications on \(channel) ended")
                        }
                        group.addTask {
                            while true {
                                try await Task.sleep(for: interval)
                                wake.yield()
                            }
                        }
                        group.addTask { try await body(wakeups) }
                        defer { group.cancelAll() }
                        while let finished = try await group.next() {
                            if let finished { return finished }
                        }
                        throw Lost(reason: "listening on \(channel) ended")
                    }
                }
            }
        } catch is ConnectionClosed {
            throw Lost(reason: "closed by the server")
        }
    }

    @discardableResult
    package func run(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let logger = self.logger
        do {
            return try await connection.failingOnClose { try await $0.query(query, logger: logger).collect() }
        } catch is ConnectionClosed {
            throw Lost(reason: "closed by the server")
        }
    }
}

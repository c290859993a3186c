package import Logging
package import PostgresNIO
import ServiceSupport

/// The relay's own connection (the one its lease is claimed and renewed on). Every statement races the
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

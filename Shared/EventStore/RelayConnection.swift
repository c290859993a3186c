package import Logging
package import PostgresNIO
import ServiceSupport

/// The relay's own connection (it carries the relay's advisory lock).
///
/// PostgresNIO 1.33 can leave a query on a connection the server closed waiting forever (the
/// fix for that, postgres-nio #487, was reverted in #501). So every statement first checks the
/// connection and runs under a deadline; a statement past its deadline is abandoned (its task
/// leaks) and the relay starts over on a new connection.
package struct RelayConnection {
    package struct Lost: Error, CustomStringConvertible {
        package var reason: String
        package var description: String { "relay connection lost: \(reason)" }
    }

    package init(connection: PostgresConnection, logger: Logger, deadline: Duration = .seconds(30)) {
        self.connection = connection
        self.logger = logger
        self.deadline = deadline
    }

    package let connection: PostgresConnection
    package let logger: Logger
    package var deadline: Duration = .seconds(30)

    @discardableResult
    package func run(_ query: PostgresQuery) async throws -> [PostgresRow] {
        guard !connection.isClosed else { throw Lost(reason: "closed by the server") }
        let connection = self.connection
        let logger = self.logger
        do {
            return try await abandoning(after: deadline) {
                try await connection.query(query, logger: logger).collect()
            }
        } catch let error as OperationAbandoned {
            throw Lost(reason: error.description)
        }
    }
}


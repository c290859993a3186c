import Logging
import PostgresNIO
import ServiceSupport

/// The relay's own connection (it carries the relay's advisory lock).
///
/// PostgresNIO 1.33 can leave a query on a connection the server closed waiting forever (the
/// fix for that, postgres-nio #487, was reverted in #501). So every statement first checks the
/// connection and runs under a deadline; a statement past its deadline is abandoned (its task
/// leaks) and the relay starts over on a new connection.
struct RelayConnection {
    struct Lost: Error, CustomStringConvertible {
        var reason: String
        var description: String { "relay connection lost: \(reason)" }
    }

    let connection: PostgresConnection
    let logger: Logger
    var deadline: Duration = .seconds(30)

    @discardableResult
    func run(_ query: PostgresQuery) async throws -> [PostgresRow] {
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


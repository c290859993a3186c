public import Logging
public import PostgresNIO
public import Projections

/// A context's read models (projection and migrations each) and the query routes the
/// projection service serves from them. Every context's projections run in the suite's one
/// projection processor (one consumer group), each with its own checkpoint-safe position and
/// dead letters.
public struct ReadModelSide: Sendable {
    public var readModels: [ReadModel]
    public var routes: @Sendable (ContextRouter, QueryEnvironment) -> Void

    public init(readModels: [ReadModel], routes: @escaping @Sendable (ContextRouter, QueryEnvironment) -> Void = { _, _ in }) {
        self.readModels = readModels
        self.routes = routes
    }
}

/// What query routes read from.
public struct QueryEnvironment: Sendable {
    public let client: PostgresClient
    public let logger: Logger
}

import Foundation
public import Logging
public import PostgresNIO
public import Projections

/// The checkout read models, registered in one place: a new read model is a folder (its
/// projection, migrations and queries) plus a line here, and its specification test.
public enum CheckoutReadModels {
    public static let all: [ReadModel] = [orderSummary, stockLevels, customers]
}

/// Reads of the checkout read models, as the projection service serves them (each read model's
/// queries are an extension in its folder).
public struct ReadModelQueries: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }
}

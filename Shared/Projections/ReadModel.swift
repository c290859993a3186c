public import Logging
public import PostgresNIO
public import ServiceSupport

/// A read model as one unit: its projection and the migrations of its tables, numbered from 1 on
/// their own (recorded in `read_models.<ledger>`), so adding one touches nothing else. Its
/// queries live beside it; the application registers its read models in one list.
public struct ReadModel: Sendable {
    public let projection: any Projection
    public let migrations: [Migration]

    public init(_ projection: any Projection, migrations: [Migration]) {
        self.projection = projection
        self.migrations = migrations
    }

    /// `read_models.<name>_migrations`, with the projection's name made a plain identifier.
    public var ledger: String {
        String(projection.name.map { $0.isLetter || $0.isNumber ? $0 : "_" }) + "_migrations"
    }

    var migrator: Migrator { Migrator(schema: "read_models", ledger: ledger, migrations: migrations) }
}

extension ProjectionSchema {
    /// Creates or upgrades the read models' tables, then the runtime's own tables, whose
    /// privileges (the projection role owns every table of `read_models`) come last so that they
    /// cover the read models' tables too.
    public static func migrate(readModels: [ReadModel], roles: ServiceRoles, on client: PostgresClient, logger: Logger) async throws {
        for readModel in readModels { try await readModel.migrator.run(on: client, logger: logger) }
        try await migrator(roles: roles).run(on: client, logger: logger)
    }
}

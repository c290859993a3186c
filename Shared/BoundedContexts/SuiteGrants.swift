import Logging
import PostgresNIO
import ServiceHTTP
import ServiceSupport

/// Runs the contexts' own grants (`BoundedContext.grants`) after a service's migrations.
enum SuiteGrants {
    static func run(_ suite: Suite, on context: ServiceContext) async throws {
        for boundedContext in suite.contexts {
            for statement in boundedContext.grants(context.roles) {
                try await context.migrationPostgres.liveQuery(PostgresQuery(unsafeSQL: statement), logger: context.logger)
            }
        }
    }
}

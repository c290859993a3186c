import CheckoutSuite
import CheckoutReadModels
import Projections
import ServiceSupport

@main
enum ProjectionServiceMain {
    static func main() async {
        await ServiceHost.run(service: "projection-service", defaultPort: 8082, roles: CheckoutNames.roles, openAPI: OpenAPIDocument.json, setup: setup)
    }

    /// Routes and background services (also used by tests, which build the same router).
    static let setup: ServiceHost.Setup = { context, router in
        let faults = FaultSwitch()
        let runtime = try ProjectionRuntime.checkout(context: context, faults: faults)
        QueryRoutes(queries: ReadModelQueries(client: context.postgres, logger: context.logger), runtime: runtime).register(on: router)
        AdminRoutes(runtime: runtime, faults: faults).register(on: router, token: context.configuration.adminToken)
        return ServicePlan(
            migrations: [{ try await ProjectionSchema.migrate(readModels: CheckoutReadModels.all, roles: CheckoutNames.roles, on: context.migrationPostgres, logger: context.logger) }],
            services: [runtime.processor])
    }
}

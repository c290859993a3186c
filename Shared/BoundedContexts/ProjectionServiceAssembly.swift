import Hummingbird
import Projections
import ServiceHTTP

/// The projection service, assembled from a suite: every context's read models in one
/// processor, their query routes, `GET /projections` and the operators' routes (dead letters,
/// rebuilds, checkpoint resets, fault injection).
enum ProjectionServiceAssembly {
    static func setup(_ suite: Suite) -> ServiceHost.Setup {
        { context, router in
            let faults = FaultSwitch()
            let runtime = try ProjectionRuntime(suite: suite, context: context, faults: faults)
            let routes = ContextRouter(
                router: router, service: .projectionService, adminToken: context.configuration.adminToken, client: context.postgres,
                logger: context.logger, maxCommandsInFlight: context.configuration.maxCommandsInFlight)
            let queries = QueryEnvironment(
                client: context.postgres, logger: context.logger,
                extensions: suite.contexts.flatMap { boundedContext in (boundedContext.readModels?.extensions ?? []).map { (boundedContext.name, $0) } })
            for boundedContext in suite.contexts { boundedContext.readModels?.routes(routes, queries) }
            router.get("/projections") { _, _ in
                try JSONResponse.make(try await ProjectionsReport.make(runtime: runtime))
            }
            ProjectionAdminRoutes(runtime: runtime, faults: faults).register(on: routes.admin())
            let readModels = suite.contexts.flatMap { $0.readModels?.readModels ?? [] }
            return ServicePlan(
                migrations: [
                    {
                        try await ProjectionSchema.migrate(readModels: readModels, roles: context.roles, on: context.migrationPostgres, logger: context.logger)
                    },
                    { try await SuiteGrants.run(suite, on: context) },
                ],
                services: [runtime.processor], readiness: [.consumer(runtime.processor)])
        }
    }
}

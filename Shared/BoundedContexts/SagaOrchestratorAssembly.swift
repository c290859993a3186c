import Hummingbird
import Sagas
import ServiceHTTP
import ServiceLifecycle
import ServiceSupport

/// The saga orchestrator, assembled from a suite: per saga its processor (its own consumer
/// group over the topics of the stream types it reacts to), its deadline scheduler and its
/// routes; one command relay for every saga's commands.
enum SagaOrchestratorAssembly {
    /// Saga batch transactions at once in one orchestrator by default (its partitions' workers
    /// share them; `SAGA_CONCURRENT_BATCHES`).
    static let defaultConcurrentSagaBatches = 16

    static func setup(_ suite: Suite) -> ServiceHost.Setup {
        { context, router in
            let hold = CommandHold()
            let routes = ContextRouter(
                router: router, service: .sagaOrchestrator, adminToken: context.configuration.adminToken, client: context.postgres,
                logger: context.logger, maxCommandsInFlight: context.configuration.maxCommandsInFlight)
            // Where the command service's group has got to: a saga's deadline counts from when
            // its step's commands were consumed, not from when they were queued.
            let consumption = CommandConsumption(
                group: Suite.commandGroup, topics: suite.commandTopics, bootstrapServers: context.configuration.kafkaBrokers, logger: context.logger)
            let environment = SagaEnvironment(
                client: context.postgres, logger: context.logger, commandTopic: { suite.commandTopic(of: $0) },
                deadlineWatch: DeadlineWatch(consumption: consumption, hold: hold),
                writeGate: SagaWriteGate(
                    limit: try integerSetting("SAGA_CONCURRENT_BATCHES", default: Self.defaultConcurrentSagaBatches, range: 1...1_000)))
            let queries = SagaQueries(client: context.postgres, logger: context.logger)
            var services: [any Service] = [consumption]
            var commandTypes: Set<String> = []
            for saga in suite.contexts.flatMap(\.sagas) {
                let runtime = try saga.make(environment)
                SagaRoutes(side: saga, runtime: runtime, queries: queries).register(on: routes)
                commandTypes.formUnion(saga.commandTypes)
                services += runtime.services(
                    SagaSubscription(
                        group: suite.group(of: saga), topics: suite.topics(of: saga), instanceID: context.configuration.instanceID,
                        bootstrapServers: context.configuration.kafkaBrokers, deadLetterTopic: suite.deadLetterTopic),
                    context.kafkaProducer)
            }
            CommandHoldRoute(hold: hold, commandTypes: commandTypes).register(on: routes.admin())
            services.append(SagaCommandRelay(client: context.postgres, producer: context.kafkaProducer, logger: context.logger, hold: hold))
            return ServicePlan(
                migrations: [
                    { try await SagaSchema.migrator(roles: context.roles).run(on: context.migrationPostgres, logger: context.logger) },
                    { try await SuiteGrants.run(suite, on: context) },
                ],
                services: services, readiness: ReadinessCheck.consumers(in: services))
        }
    }
}

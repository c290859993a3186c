import Checkout
import Sagas
import ServiceSupport

@main
enum SagaOrchestratorMain {
    static func main() async {
        await ServiceHost.run(service: "saga-orchestrator", defaultPort: 8083, setup: setup)
    }

    /// Routes and background services (also used by tests, which build the same router).
    static let setup: ServiceHost.Setup = { context, router in
        let saga = CheckoutSaga(timeouts: try SagaSettings.timeouts())
        let store = SagaStore(definition: saga, client: context.postgres, logger: context.logger)
        let hold = CommandHold()
        SagaRoutes(
            queries: SagaQueries(client: context.postgres, logger: context.logger), store: store, client: context.postgres, hold: hold,
            logger: context.logger)
            .register(on: router, token: context.configuration.adminToken)
        let processor = SagaProcessor(
            configuration: .init(
                groupID: "saga-orchestrator", topics: CheckoutTopics.eventTopics, instanceID: context.configuration.instanceID,
                bootstrapServers: context.configuration.kafkaBrokers),
            store: store, producer: context.kafkaProducer, logger: context.logger)
        return ServicePlan(
            migrations: [{ try await SagaSchema.migrator.run(on: context.migrationPostgres, logger: context.logger) }],
            services: [
                processor,
                SagaDeadlineScheduler(store: store, logger: context.logger),
                SagaCommandRelay(client: context.postgres, producer: context.kafkaProducer, logger: context.logger, hold: hold),
            ])
    }
}

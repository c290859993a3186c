import CheckoutSuite
import Checkout
import Sagas
import ServiceSupport

@main
enum SagaOrchestratorMain {
    static func main() async {
        await ServiceHost.run(service: "saga-orchestrator", defaultPort: 8083, roles: CheckoutNames.roles, openAPI: OpenAPIDocument.json, setup: setup)
    }

    /// Routes and background services (also used by tests, which build the same router).
    static let setup: ServiceHost.Setup = { context, router in
        let saga = CheckoutSaga(timeouts: try SagaSettings.timeouts(), commandTopic: CheckoutNames.Topics.commands)
        let store = SagaStore(definition: saga, client: context.postgres, logger: context.logger)
        let hold = CommandHold()
        SagaRoutes(
            queries: SagaQueries(client: context.postgres, logger: context.logger), store: store, client: context.postgres, hold: hold,
            logger: context.logger)
            .register(on: router, token: context.configuration.adminToken)
        let processor = SagaProcessor(
            configuration: .init(
                groupID: CheckoutNames.Groups.saga, topics: CheckoutNames.Topics.sagaEvents, instanceID: context.configuration.instanceID,
                bootstrapServers: context.configuration.kafkaBrokers, deadLetterTopic: CheckoutNames.Topics.deadLetters),
            store: store, producer: context.kafkaProducer, logger: context.logger)
        return ServicePlan(
            migrations: [{ try await SagaSchema.migrator(roles: CheckoutNames.roles).run(on: context.migrationPostgres, logger: context.logger) }],
            services: [
                processor,
                SagaDeadlineScheduler(store: store, logger: context.logger),
                SagaCommandRelay(client: context.postgres, producer: context.kafkaProducer, logger: context.logger, hold: hold),
            ])
    }
}

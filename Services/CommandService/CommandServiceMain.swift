import CheckoutSuite
import Checkout
import EventStore
import ServiceSupport

@main
enum CommandServiceMain {
    static func main() async {
        await ServiceHost.run(service: "command-service", defaultPort: 8081, roles: CheckoutNames.roles, openAPI: OpenAPIDocument.json, setup: setup)
    }

    /// Routes and background services (also used by tests, which build the same router).
    static let setup: ServiceHost.Setup = { context, router in
        let store = PostgresEventStore(
            client: context.postgres, logger: context.logger, topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
        let commands = CheckoutCommands(store: store)
        CommandRoutes(commands: commands).register(on: router, maxCommandsInFlight: context.configuration.maxCommandsInFlight)
        CustomerRoutes(commands: commands, logger: context.logger).register(
            on: router.adminGroup(
                "/customers", token: context.configuration.adminToken, client: context.postgres, service: "command-service",
                logger: context.logger))
        OutboxAdminRoutes(store: store).register(
            on: router.adminGroup(
                token: context.configuration.adminToken, client: context.postgres, service: "command-service", logger: context.logger))
        return ServicePlan(
            migrations: [{ try await EventStoreSchema.migrator(roles: CheckoutNames.roles).run(on: context.migrationPostgres, logger: context.logger) }],
            services: [
                OutboxRelay(client: context.postgres, producer: context.kafkaProducer, logger: context.logger),
                CommandConsumer(
                    commands: commands, configuration: context.configuration, producer: context.kafkaProducer, logger: context.logger),
            ])
    }
}

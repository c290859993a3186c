import EventStore
import Hummingbird
import ServiceHTTP
import ServiceLifecycle
import ServiceSupport

/// The command service, assembled from a suite: one event store (with its outbox relay), one
/// key vault and state cache shared by every context's command side; each context's command
/// routes; the stream routes over every stream; one consumer of every context's command topic.
enum CommandServiceAssembly {
    static func setup(_ suite: Suite) -> ServiceHost.Setup {
        { context, router in
            let store = PostgresEventStore(client: context.postgres, logger: context.logger, topicForStreamType: suite.eventTopic)
            let sides = try CommandSides(suite, CommandEnvironment(store: store))
            let runningSagas = RunningSagas(client: context.postgres, logger: context.logger)
            sides.register(
                on: ContextRouter(
                    router: router, service: .commandService, adminToken: context.configuration.adminToken, client: context.postgres,
                    logger: context.logger, maxCommandsInFlight: context.configuration.maxCommandsInFlight,
                    sagaStarts: (runningSagas, context.configuration.maxRunningSagas)))
            var services: [any Service] = [
                OutboxRelay(client: context.postgres, producer: context.kafkaProducer, logger: context.logger, source: suite.eventSource),
                runningSagas,
            ]
            if !sides.channels.isEmpty {
                services.append(
                    CommandChannelConsumer(
                        channels: sides.channels, group: Suite.commandGroup, deadLetterTopic: suite.deadLetterTopic,
                        configuration: context.configuration, producer: context.kafkaProducer, logger: context.logger))
            }
            return ServicePlan(
                migrations: [
                    { try await EventStoreSchema.migrator(roles: context.roles).run(on: context.migrationPostgres, logger: context.logger) },
                    { try await SuiteGrants.run(suite, on: context) },
                ],
                // The command consumer is not a readiness check here: a replica its group leaves
                // without a partition still serves its HTTP API (the producer's check covers Kafka).
                services: services)
        }
    }
}

/// Every context's command side, built over one environment.
struct CommandSides {
    let environment: CommandEnvironment
    let parts: [CommandPart]
    /// Each command topic's reader.
    let channels: [String: @Sendable ([UInt8]) throws -> ChannelCommand]

    init(_ suite: Suite, _ environment: CommandEnvironment) throws {
        self.environment = environment
        var parts: [CommandPart] = []
        var channels: [String: @Sendable ([UInt8]) throws -> ChannelCommand] = [:]
        for context in suite.contexts {
            guard let side = context.commands else { continue }
            let part = try side.make(environment)
            parts.append(part)
            if let channel = part.channel { channels[suite.commandTopic(of: context.name)] = channel }
        }
        self.parts = parts
        self.channels = channels
    }

    /// The contexts' routes, the stream routes and the outbox's admin routes.
    func register(on routes: ContextRouter) {
        var states: [String: StreamStateReader] = [:]
        for part in parts {
            part.routes(routes)
            states.merge(part.states) { first, _ in first }
        }
        StreamRoutes(store: environment.store, vault: environment.vault, states: states).register(on: routes.router)
        OutboxAdminRoutes(store: environment.store).register(on: routes.admin())
    }
}

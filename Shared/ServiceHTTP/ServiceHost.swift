public import ServiceSupport
import Foundation
public import Hummingbird
public import Kafka
public import Logging
public import PostgresNIO
public import Prometheus
import ServiceLifecycle

/// What a service's setup code gets: its configuration and the shared clients.
public struct ServiceContext: Sendable {
    public var configuration: ServiceConfiguration
    public var logger: Logger
    public var registry: PrometheusCollectorRegistry
    /// The service's pool, under its own role.
    public var postgres: PostgresClient
    /// The pool migrations run on (schema owner: creates tables, roles and grants).
    public var migrationPostgres: PostgresClient
    public var kafkaProducer: KafkaProducer
    /// The suite's database roles (for the migrations' grants).
    public var roles: ServiceRoles

    public init(
        configuration: ServiceConfiguration, roles: ServiceRoles, logger: Logger, registry: PrometheusCollectorRegistry, postgres: PostgresClient,
        migrationPostgres: PostgresClient? = nil, kafkaProducer: KafkaProducer
    ) {
        self.roles = roles
        self.migrationPostgres = migrationPostgres ?? postgres
        self.configuration = configuration
        self.logger = logger
        self.registry = registry
        self.postgres = postgres
        self.kafkaProducer = kafkaProducer
    }
}

/// The common shape of the suite's executables: configuration from the environment, logging
/// and metrics, a PostgreSQL pool and a Kafka producer, the operational routes, the service's
/// own routes and background services, and an HTTP server, all in one ServiceLifecycle group
/// that drains on SIGTERM/SIGINT.
public enum ServiceHost {
    public typealias Setup = @Sendable (ServiceContext, Router<BasicRequestContext>) async throws -> ServicePlan

    /// Runs the service until it is told to stop. Exits with status 2 on a configuration error
    /// and 1 when the service fails.
    /// `roles` are the suite's database roles: the service takes on its own, and the audit log's
    /// migration grants to each.
    /// `openAPI` is the service's OpenAPI document (JSON), served at `/openapi.json`; the service
    /// does not start when it and the routes disagree.
    /// `defaultDatabase` names the local database used when `DATABASE_URL` is not set.
    /// `tracing` exports the service's spans (its log metadata is installed with logging, so
    /// that log lines carry the trace id).
    public static func run(
        service: String, defaultPort: Int, roles: ServiceRoles, defaultDatabase: String, openAPI: String, tracing: TracingExport = .none,
        setup: Setup
    ) async -> Never {
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration.fromEnvironment(
                service: service, defaultPort: defaultPort, defaultRole: roles.role(forService: service), defaultDatabase: defaultDatabase)
            try CrashPoint.installFromEnvironment()
            KafkaConfiguration.setConsumerFetchWait(milliseconds: configuration.kafkaFetchWaitMilliseconds)
        } catch {
            FileHandle.standardError.write(Data("\(service): configuration error: \(error)\n".utf8))
            exit(2)
        }
        let (logger, registry) = Observability.bootstrap(configuration, traceMetadata: tracing.logMetadata)
        let exporter: (any Service)?
        do {
            exporter = try tracing.start(configuration.serviceName, logger)
        } catch {
            FileHandle.standardError.write(Data("\(service): configuration error: \(error)\n".utf8))
            exit(2)
        }
        do {
            try await run(
                configuration, roles: roles, logger: logger, registry: registry, openAPI: openAPI, exporters: exporter.map { [$0] } ?? [],
                setup: setup)
            exit(0)
        } catch let error as ConfigurationError {
            // A service-specific variable (read in `setup`) is as fatal as a common one.
            logger.critical("configuration error", metadata: ["error": "\(error)"])
            exit(2)
        } catch {
            logger.critical("service failed", metadata: ["error": "\(error)"])
            exit(1)
        }
    }

    static func run(
        _ configuration: ServiceConfiguration, roles: ServiceRoles, logger: Logger, registry: PrometheusCollectorRegistry, openAPI: String,
        exporters: [any Service], setup: Setup
    ) async throws {
        var database = try DatabaseURL(configuration.databaseURL)
        database.bounds = configuration.transactionBounds
        let poolConfiguration = database.clientConfiguration(role: configuration.databaseRole)
        let postgres = PostgresClient(configuration: poolConfiguration, backgroundLogger: logger)
        ProcessGauges.watch(postgres, maximumConnections: poolConfiguration.options.maximumConnections)
        var owner = try DatabaseURL(configuration.migrationDatabaseURL ?? configuration.databaseURL)
        owner.bounds = configuration.transactionBounds
        let migrationPostgres = PostgresClient(configuration: owner.clientConfiguration, backgroundLogger: logger)
        let producer = try KafkaProducer(
            configuration: .producer(bootstrapServers: configuration.kafkaBrokers), logger: logger)
        let context = ServiceContext(
            configuration: configuration, roles: roles, logger: logger, registry: registry, postgres: postgres,
            migrationPostgres: migrationPostgres, kafkaProducer: producer)

        let router = Router()
        let gate = StartupGate()
        router.add(middleware: MetricsMiddleware())
        // The request's span (continuing the caller's `traceparent`) is the context every later
        // middleware and handler runs in.
        router.add(middleware: RequestTracingMiddleware())
        router.add(middleware: RequestLogMiddleware(logger: logger))
        router.add(middleware: MigrationGateMiddleware(gate: gate))
        let plan = try await setup(context, router)
        router.addOperationalRoutes(
            checks: [.postgres(postgres, logger: logger), .kafka(producer), .migrations(gate)] + plan.readiness, registry: registry)
        try router.addOpenAPIDocument(openAPI)
        let migrations = MigrationRun(
            gate: gate,
            migrate: {
                try await AuditSchema.migrator(roles: roles).run(on: migrationPostgres, logger: logger)
                for migrate in plan.migrations { try await migrate() }
            }, logger: logger)

        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: configuration.serviceName),
            // The exporters come first, so that they stop last and flush the spans of the drain.
            services: exporters + [postgres, migrationPostgres, KafkaProducerService(producer: producer), migrations]
                + plan.services.map { GatedService(gate: gate, inner: $0) },
            onServerRunning: { channel in
                logger.info(
                    "listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
            },
            logger: logger)
        logger.info(
            "starting", metadata: ["database": "\(DatabaseURL.redacted(configuration.databaseURL))", "kafka": "\(configuration.kafkaBrokers)"])
        // SIGTERM drains; a drain stuck past 20 s becomes cancellation, bounded again by 5 s.
        var group = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(20)
        group.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: group).run()
        logger.info("stopped cleanly")
    }
}

extension ReadinessCheck {
    public static func postgres(_ client: PostgresClient, logger: Logger) -> Self {
        // The role the pool's connections run under, so that operators (and a test) can see
        // that the service holds only its own role's privileges.
        .reporting("postgres") {
            let role = try await client.liveQuery("SELECT current_user::text", logger: logger).first?.decode(String.self) ?? "?"
            return "role \(role)"
        }
    }

    public static func kafka(_ producer: KafkaProducer) -> Self {
        Self(name: "kafka") {
            _ = try await producer.metadata(timeout: .seconds(2))
        }
    }
}

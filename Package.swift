// swift-tools-version:6.2
import PackageDescription

// One setting list for every target: Swift 6 language mode (complete strict concurrency),
// and no warnings in our code.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let log = Target.Dependency.product(name: "Logging", package: "swift-log")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let postgres = Target.Dependency.product(name: "PostgresNIO", package: "postgres-nio")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let httpClient = Target.Dependency.product(name: "AsyncHTTPClient", package: "async-http-client")
let tracing = Target.Dependency.product(name: "Tracing", package: "swift-distributed-tracing")

let package = Package(
    name: "checkout-suite",
    platforms: [.macOS(.v15)],
    products: [
        // The suite's executables.
        .executable(name: "command-service", targets: ["CommandService"]),
        .executable(name: "projection-service", targets: ["ProjectionService"]),
        .executable(name: "saga-orchestrator", targets: ["SagaOrchestrator"]),
        .executable(name: "kafka-dev", targets: ["KafkaDev"]),
        .executable(name: "suitectl", targets: ["Suitectl"]),
        .executable(name: "checkout-demo", targets: ["CheckoutDemo"]),
        .executable(name: "suite-bench", targets: ["SuiteBench"]),
        .executable(name: "suite-check", targets: ["SuiteCheck"]),
        .executable(name: "suite-drill", targets: ["SuiteDrill"]),
        // The library (Shared/): what a team builds its own bounded contexts on.
        .library(name: "EventSourcing", targets: ["EventSourcing"]),
        .library(name: "EventStore", targets: ["EventStore"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "ConsumerRuntime", targets: ["ConsumerRuntime"]),
        .library(name: "Projections", targets: ["Projections"]),
        .library(name: "Sagas", targets: ["Sagas"]),
        .library(name: "InvariantChecks", targets: ["InvariantChecks"]),
        .library(name: "ServiceSupport", targets: ["ServiceSupport"]),
        .library(name: "ServiceHTTP", targets: ["ServiceHTTP"]),
        .library(name: "BoundedContexts", targets: ["BoundedContexts"]),
        .library(name: "SuiteTesting", targets: ["SuiteTesting"]),
        .library(name: "JSONClient", targets: ["JSONClient"]),
        .library(name: "ChildProcesses", targets: ["ChildProcesses"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-service-context.git", from: "1.5.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // Only the three services' executables export traces (OTLP over HTTP or gRPC); the library
        // speaks swift-distributed-tracing's API alone.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0"),
    ],
    targets: [
        // MARK: The library (Shared/): generic, no domain name anywhere.

        // librdkafka from Debian (librdkafka-dev), found through pkg-config.
        .systemLibrary(name: "CRdKafka", path: "Shared/CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .target(
            name: "Kafka", dependencies: ["CRdKafka", log, tracing, .product(name: "Instrumentation", package: "swift-distributed-tracing")], path: "Shared/Kafka",
            swiftSettings: strict),
        // The pure core: envelope, deciders, sagas as pure functions, codecs with upcasting. No I/O.
        .target(name: "EventSourcing", path: "Shared/EventSourcing", swiftSettings: strict),
        // Configuration, PostgreSQL access and migrations, roles, logging and metrics set-up:
        // what every runtime needs, without HTTP.
        .target(
            name: "ServiceSupport",
            dependencies: [
                "Kafka", log, metrics, lifecycle, postgres,
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceContextModule", package: "swift-service-context"), tracing,
            ],
            path: "Shared/ServiceSupport", swiftSettings: strict),
        .target(
            name: "EventStore", dependencies: ["EventSourcing", "Kafka", "ServiceSupport", postgres, lifecycle, log, metrics, crypto, tracing],
            path: "Shared/EventStore", swiftSettings: strict),
        // One consumer-group runtime for every reader of the event log: a worker per partition,
        // batches, retries, commits, lag, rejoin and drain.
        .target(
            name: "ConsumerRuntime", dependencies: ["Kafka", log, metrics, crypto, lifecycle, tracing], path: "Shared/ConsumerRuntime", swiftSettings: strict),
        .target(
            name: "Projections", dependencies: ["ConsumerRuntime", "EventSourcing", "EventStore", "Kafka", "ServiceSupport", postgres, lifecycle, log, metrics, tracing],
            path: "Shared/Projections", swiftSettings: strict),
        // The saga runtime: instances, stream arrival positions, deadlines, command outbox and relay.
        .target(
            name: "Sagas", dependencies: ["ConsumerRuntime", "EventSourcing", "EventStore", "Kafka", "ServiceSupport", postgres, lifecycle, log, metrics, tracing],
            path: "Shared/Sagas", swiftSettings: strict),
        // Invariants that must hold after a run, checked from PostgreSQL and Kafka.
        .target(
            name: "InvariantChecks", dependencies: ["EventSourcing", "EventStore", "Kafka", "Projections", postgres, log],
            path: "Shared/InvariantChecks", swiftSettings: strict),
        // The HTTP edge every service shares: the host (lifecycle, health, metrics, OpenAPI
        // check), admin authentication and audit, admission, JSON errors and request parsing.
        .target(
            name: "ServiceHTTP",
            dependencies: [
                "ServiceSupport", "EventSourcing", "Kafka", log, metrics, lifecycle, hummingbird, postgres, crypto, tracing,
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Shared/ServiceHTTP", swiftSettings: strict),
        // The seam: a bounded context declared in one value, a suite as a list of them, the
        // topology derived from it, and the three services assembled from it.
        .target(
            name: "BoundedContexts",
            dependencies: [
                "ServiceHTTP", "ServiceSupport", "EventSourcing", "EventStore", "ConsumerRuntime", "Projections", "Sagas", "InvariantChecks",
                "Kafka", hummingbird, postgres, lifecycle, log, metrics, tracing,
            ],
            path: "Shared/BoundedContexts",
            resources: [
                .embedInCode("OpenAPI/command-service.json"), .embedInCode("OpenAPI/projection-service.json"),
                .embedInCode("OpenAPI/saga-orchestrator.json"),
            ],
            swiftSettings: strict),
        // JSON over HTTP for the tools, the drill, the benchmarks and the tests.
        .target(name: "JSONClient", dependencies: [httpClient], path: "Shared/JSONClient", swiftSettings: strict),
        // Child processes started with posix_spawn and reaped with waitpid.
        .target(name: "ChildProcesses", path: "Shared/ChildProcesses", swiftSettings: strict),
        // Test support shipped beside the library: throwaway clusters, specifications, fuzzing.
        .target(
            name: "SuiteTesting",
            dependencies: ["Kafka", "ServiceSupport", "EventSourcing", "EventStore", "Projections", "JSONClient", "ChildProcesses", postgres],
            path: "Shared/SuiteTesting", swiftSettings: strict),

        // MARK: The bounded contexts (Contexts/): each in its own folder, registered in Contexts/Suite.

        .target(name: "Checkout", dependencies: ["EventSourcing"], path: "Contexts/Checkout/Domain", swiftSettings: strict),
        .target(
            name: "CheckoutReadModels", dependencies: ["Checkout", "EventSourcing", "EventStore", "Projections", "ServiceSupport", postgres],
            path: "Contexts/Checkout/ReadModels", swiftSettings: strict),
        .target(
            name: "CheckoutContext",
            dependencies: [
                "Checkout", "CheckoutReadModels", "BoundedContexts", "ServiceHTTP", "ServiceSupport", "EventSourcing", "EventStore", "InvariantChecks",
                hummingbird, postgres, log,
            ],
            path: "Contexts/Checkout/Context",
            resources: [
                .embedInCode("OpenAPI/command-service.json"), .embedInCode("OpenAPI/projection-service.json"),
                .embedInCode("OpenAPI/saga-orchestrator.json"),
            ],
            swiftSettings: strict),
        .target(name: "Returns", dependencies: ["Checkout", "EventSourcing"], path: "Contexts/Returns/Domain", swiftSettings: strict),
        .target(
            name: "ReturnsContext",
            dependencies: [
                "Returns", "Checkout", "BoundedContexts", "ServiceHTTP", "ServiceSupport", "EventSourcing", "EventStore", "Projections", "InvariantChecks",
                hummingbird, postgres, log,
            ],
            path: "Contexts/Returns/Context",
            resources: [
                .embedInCode("OpenAPI/command-service.json"), .embedInCode("OpenAPI/projection-service.json"),
                .embedInCode("OpenAPI/saga-orchestrator.json"),
            ],
            swiftSettings: strict),
        // The suite: the list of contexts every executable assembles from.
        .target(
            name: "CheckoutSuite", dependencies: ["BoundedContexts", "CheckoutContext", "ReturnsContext", "ServiceSupport"], path: "Contexts/Suite",
            swiftSettings: strict),

        // MARK: The executables (Services/): they only assemble.

        // OpenTelemetry export for the three services, configured by the standard OTEL_* variables.
        .target(
            name: "SuiteTelemetry",
            dependencies: ["ServiceHTTP", "ServiceSupport", log, tracing, lifecycle, .product(name: "OTel", package: "swift-otel")],
            path: "Services/SuiteTelemetry", swiftSettings: strict),
        .executableTarget(
            name: "CommandService", dependencies: ["BoundedContexts", "CheckoutSuite", "SuiteTelemetry"], path: "Services/CommandService",
            swiftSettings: strict),
        .executableTarget(
            name: "ProjectionService", dependencies: ["BoundedContexts", "CheckoutSuite", "SuiteTelemetry"], path: "Services/ProjectionService",
            swiftSettings: strict),
        .executableTarget(
            name: "SagaOrchestrator", dependencies: ["BoundedContexts", "CheckoutSuite", "SuiteTelemetry"], path: "Services/SagaOrchestrator",
            swiftSettings: strict),
        // The operator CLI: the services' HTTP APIs, and the suite's topology.
        .executableTarget(
            name: "Suitectl", dependencies: ["BoundedContexts", "CheckoutSuite", "JSONClient", argumentParser], path: "Services/Suitectl",
            swiftSettings: strict),
        // The invariant checker (after a run, a drill, the demo).
        .executableTarget(
            name: "SuiteCheck",
            dependencies: ["BoundedContexts", "CheckoutSuite", "InvariantChecks", "EventStore", "ServiceSupport", argumentParser, postgres, log],
            path: "Services/SuiteCheck", swiftSettings: strict),
        // The fault drill (scripts/drill): steady checkouts under crashes and broker faults, then suite-check.
        .executableTarget(
            name: "SuiteDrill", dependencies: ["ServiceSupport", "JSONClient", "ChildProcesses", argumentParser, postgres, log], path: "Services/SuiteDrill",
            swiftSettings: strict),
        // The main job's driver (scripts/demo): checkouts, a poison event, checks, a summary.
        .executableTarget(name: "CheckoutDemo", dependencies: ["JSONClient", argumentParser], path: "Services/CheckoutDemo", swiftSettings: strict),
        // A local Kafka-protocol cluster with the topics of a topology (`suitectl topology --json`).
        .executableTarget(
            name: "KafkaDev", dependencies: ["Kafka", "ServiceHTTP", argumentParser, hummingbird, lifecycle, log], path: "Services/KafkaDev",
            swiftSettings: strict),
        .executableTarget(
            name: "SuiteBench",
            dependencies: [
                "CheckoutSuite", "EventSourcing", "EventStore", "ServiceSupport", "Projections", "CheckoutReadModels", "Checkout", "Kafka",
                "JSONClient", "SuiteTelemetry", "ServiceHTTP", argumentParser, metrics, postgres, httpClient, tracing,
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Services/SuiteBench", swiftSettings: strict),

        // MARK: Tests.

        .testTarget(
            name: "ServiceSupportTests",
            dependencies: [
                "CheckoutSuite", "BoundedContexts", "ServiceSupport", "ServiceHTTP", "SuiteTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/ServiceSupportTests", swiftSettings: strict),
        .testTarget(
            name: "BoundedContextsTests", dependencies: ["BoundedContexts", "EventSourcing", postgres, log], path: "Tests/BoundedContextsTests",
            swiftSettings: strict),
        .testTarget(
            name: "ReturnsTests", dependencies: ["Returns", "Checkout", "EventSourcing", "SuiteTesting"], path: "Tests/ReturnsTests",
            swiftSettings: strict),
        .testTarget(
            name: "CheckoutTests",
            dependencies: [
                "CheckoutSuite", "CheckoutContext", "BoundedContexts", "Checkout", "CheckoutReadModels", "EventSourcing", "EventStore", "Kafka",
                "SuiteTesting", crypto,
            ],
            path: "Tests/CheckoutTests", swiftSettings: strict),
        .testTarget(
            name: "EventStoreIntegrationTests",
            dependencies: [
                "CheckoutSuite", "EventStore", "EventSourcing", "Checkout", "Kafka", "SuiteTesting", "ServiceSupport", postgres,
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            path: "Tests/EventStoreIntegrationTests", swiftSettings: strict),
        .testTarget(
            name: "CommandServiceTests",
            dependencies: [
                "CheckoutSuite", "CheckoutContext", "ReturnsContext", "BoundedContexts", "ServiceHTTP", "ServiceSupport", "EventStore", "Projections",
                "Checkout", "SuiteTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/CommandServiceTests", swiftSettings: strict),
        .testTarget(
            name: "ProjectionIntegrationTests",
            dependencies: [
                "CheckoutSuite", "ConsumerRuntime", "Projections", "CheckoutReadModels", "Checkout", "EventStore", "EventSourcing", "Kafka",
                "SuiteTesting", "ServiceSupport", "JSONClient", "ChildProcesses", "ReturnsContext", "BoundedContexts", postgres, crypto,
            ],
            path: "Tests/ProjectionIntegrationTests", swiftSettings: strict),
        .testTarget(
            name: "SagaIntegrationTests",
            dependencies: [
                "CheckoutSuite", "CheckoutContext", "BoundedContexts", "SuiteTesting", "Checkout", "Sagas", "EventSourcing", "EventStore",
                "ServiceSupport", "InvariantChecks", "Kafka", "JSONClient", "ChildProcesses", "Returns", "ReturnsContext", postgres, hummingbird,
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/SagaIntegrationTests", swiftSettings: strict),
        .testTarget(
            name: "AdminSecurityTests",
            dependencies: [
                "CheckoutSuite", "BoundedContexts", "ServiceHTTP", "ServiceSupport", "SuiteTesting", "EventStore", "Projections", "CheckoutReadModels",
                "Sagas", postgres,
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Tests/AdminSecurityTests", swiftSettings: strict),
        .testTarget(
            name: "KafkaIntegrationTests",
            dependencies: ["CheckoutSuite", "ConsumerRuntime", "Kafka", "SuiteTesting", lifecycle],
            path: "Tests/KafkaIntegrationTests", swiftSettings: strict),
    ]
)

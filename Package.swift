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

let package = Package(
    name: "checkout-suite",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "command-service", targets: ["CommandService"]),
        .executable(name: "projection-service", targets: ["ProjectionService"]),
        .executable(name: "saga-orchestrator", targets: ["SagaOrchestrator"]),
        .executable(name: "kafka-dev", targets: ["KafkaDev"]),
        .executable(name: "suitectl", targets: ["Suitectl"]),
        .executable(name: "checkout-demo", targets: ["CheckoutDemo"]),
        .executable(name: "suite-bench", targets: ["SuiteBench"]),
        .executable(name: "suite-check", targets: ["SuiteCheck"]),
        .executable(name: "suite-drill", targets: ["SuiteDrill"]),
        .library(name: "EventSourcing", targets: ["EventSourcing"]),
        .library(name: "EventStore", targets: ["EventStore"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "ConsumerRuntime", targets: ["ConsumerRuntime"]),
        .library(name: "ServiceSupport", targets: ["ServiceSupport"]),
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
    ],
    targets: [
        // librdkafka from Debian (librdkafka-dev), found through pkg-config.
        .systemLibrary(
            name: "CRdKafka",
            path: "Shared/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/Kafka",
            swiftSettings: strict
        ),
        // One consumer-group runtime for every reader of the event log: a worker per partition,
        // batches, retries, commits, lag, rejoin and drain. Generic: no domain names.
        .target(
            name: "ConsumerRuntime",
            dependencies: [
                "Kafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/ConsumerRuntime",
            swiftSettings: strict
        ),
        // Invariants that must hold after a run, checked from PostgreSQL and Kafka (generic).
        .target(
            name: "InvariantChecks",
            dependencies: [
                "EventSourcing", "EventStore", "Kafka", "Projections",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/InvariantChecks",
            swiftSettings: strict
        ),
        // The pure core: envelope, deciders, codecs with upcasting. No I/O.
        .target(
            name: "EventSourcing",
            path: "Shared/EventSourcing",
            swiftSettings: strict
        ),
        .target(
            name: "EventStore",
            dependencies: [
                "EventSourcing",
                "Kafka",
                "ServiceSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Shared/EventStore",
            swiftSettings: strict
        ),
        .target(
            name: "Projections",
            dependencies: [
                "ConsumerRuntime", "EventSourcing", "EventStore", "Kafka", "ServiceSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Shared/Projections",
            swiftSettings: strict
        ),
        // The saga runtime: instances, stream arrival positions, deadlines, command outbox and relay.
        .target(
            name: "Sagas",
            dependencies: [
                "ConsumerRuntime", "EventSourcing", "EventStore", "Kafka", "ServiceSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Shared/Sagas",
            swiftSettings: strict
        ),
        .target(
            name: "CheckoutReadModels",
            dependencies: [
                "Checkout", "EventSourcing", "EventStore", "Projections", "ServiceSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Contexts/Checkout/ReadModels",
            swiftSettings: strict
        ),
        // The checkout suite's names: topics, consumer groups, database roles.
        .target(
            name: "CheckoutSuite",
            dependencies: ["Checkout", "ServiceSupport"],
            path: "Contexts/Checkout/Context",
            swiftSettings: strict
        ),
        .target(
            name: "Checkout",
            dependencies: ["EventSourcing"],
            path: "Contexts/Checkout/Domain",
            swiftSettings: strict
        ),
        .target(
            name: "ServiceSupport",
            dependencies: [
                "Kafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Shared/ServiceSupport",
            swiftSettings: strict
        ),
        // JSON over HTTP for the tools, the drill, the benchmarks and the tests (generic).
        .target(
            name: "JSONClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Shared/JSONClient",
            swiftSettings: strict
        ),
        // Child processes started with posix_spawn and reaped with waitpid (generic).
        .target(
            name: "ChildProcesses",
            path: "Shared/ChildProcesses",
            swiftSettings: strict
        ),
        // Test support shipped beside the library: throwaway clusters and waiting with deadlines.
        .target(
            name: "SuiteTesting",
            dependencies: [
                "CheckoutSuite",
                "Kafka", "ServiceSupport", "EventSourcing", "EventStore", "Projections",
                "JSONClient", "ChildProcesses",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Shared/SuiteTesting",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CommandService",
            dependencies: [
                "CheckoutSuite",
                "ConsumerRuntime", "ServiceSupport", "EventSourcing", "EventStore", "Checkout", "Kafka",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Services/CommandService",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ProjectionService",
            dependencies: [
                "CheckoutSuite","ServiceSupport", "ConsumerRuntime", "Projections", "CheckoutReadModels", "Checkout", "EventSourcing", "EventStore", "Kafka"],
            path: "Services/ProjectionService",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "SagaOrchestrator",
            dependencies: [
                "CheckoutSuite","ServiceSupport", "Sagas", "Checkout", "EventSourcing", "Kafka"],
            path: "Services/SagaOrchestrator",
            swiftSettings: strict
        ),
        // The operator CLI: talks to the services' HTTP APIs only.
        .executableTarget(
            name: "Suitectl",
            dependencies: [
                "JSONClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/Suitectl",
            swiftSettings: strict
        ),
        // The invariant checker for the checkout suite (after a run, a drill, the demo).
        .executableTarget(
            name: "SuiteCheck",
            dependencies: [
                "InvariantChecks", "CheckoutSuite", "CheckoutReadModels", "Checkout", "EventSourcing", "EventStore", "ServiceSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/SuiteCheck",
            swiftSettings: strict
        ),
        // The fault drill (scripts/drill): steady checkouts under crashes and broker faults, then suite-check.
        .executableTarget(
            name: "SuiteDrill",
            dependencies: [
                "ServiceSupport",
                "JSONClient", "ChildProcesses",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Services/SuiteDrill",
            swiftSettings: strict
        ),
        // The main job's driver (scripts/demo): checkouts, a poison event, checks, a summary.
        .executableTarget(
            name: "CheckoutDemo",
            dependencies: [
                "JSONClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/CheckoutDemo",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "KafkaDev",
            dependencies: [
                "CheckoutSuite",
                "Kafka",
                "ServiceSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Services/KafkaDev",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "SuiteBench",
            dependencies: [
                "CheckoutSuite",
                "EventSourcing", "EventStore", "ServiceSupport", "Projections", "CheckoutReadModels", "Checkout", "Kafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                "JSONClient",
            ],
            path: "Services/SuiteBench",
            swiftSettings: strict
        ),
        .testTarget(
            name: "ServiceSupportTests",
            dependencies: [
                "CheckoutSuite",
                "ServiceSupport", "SuiteTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/ServiceSupportTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CheckoutTests",
            dependencies: [
                "CheckoutSuite", "Checkout", "CheckoutReadModels", "EventSourcing", "EventStore", "Kafka", "SuiteTesting",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/CheckoutTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "EventStoreIntegrationTests",
            dependencies: [
                "CheckoutSuite",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                "EventStore", "EventSourcing", "Checkout", "Kafka", "SuiteTesting", "ServiceSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/EventStoreIntegrationTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CommandServiceTests",
            dependencies: [
                "CheckoutSuite",
                "CommandService", "EventStore", "Checkout", "SuiteTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/CommandServiceTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "ProjectionIntegrationTests",
            dependencies: [
                "CheckoutSuite",
                "ConsumerRuntime", "Projections", "CheckoutReadModels", "Checkout", "EventStore", "EventSourcing", "Kafka", "SuiteTesting", "ServiceSupport",
                "JSONClient", "ChildProcesses",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/ProjectionIntegrationTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "SagaIntegrationTests",
            dependencies: [
                "CheckoutSuite",
                "SuiteTesting", "Checkout", "Sagas", "EventSourcing", "EventStore", "ServiceSupport", "InvariantChecks", "SuiteCheck", "Kafka",
                "JSONClient", "ChildProcesses",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/SagaIntegrationTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "AdminSecurityTests",
            dependencies: [
                "CheckoutSuite",
                "CommandService", "ProjectionService", "SagaOrchestrator", "ServiceSupport", "SuiteTesting",
                "EventStore", "Projections", "CheckoutReadModels", "Sagas",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Tests/AdminSecurityTests",
            swiftSettings: strict
        ),
        .testTarget(
            name: "KafkaIntegrationTests",
            dependencies: [
                "CheckoutSuite", "ConsumerRuntime", "Kafka", "SuiteTesting",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/KafkaIntegrationTests",
            swiftSettings: strict
        ),
    ]
)

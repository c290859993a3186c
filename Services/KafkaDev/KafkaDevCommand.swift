import ArgumentParser
import Foundation
import Hummingbird
import Kafka
import Logging
import ServiceLifecycle
import ServiceHTTP

@main
struct KafkaDevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-dev",
        abstract: "A local Kafka-protocol cluster for development and tests, and a topic reader.",
        subcommands: [KafkaDevServe.self, KafkaDevTail.self],
        defaultSubcommand: KafkaDevServe.self)
}

/// Starts a local Kafka-protocol cluster (librdkafka's mock cluster) with a suite's topics (`--topology`),
/// prints its bootstrap servers on one line and runs until SIGTERM or SIGINT.
struct KafkaDevServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a local Kafka-protocol cluster for development and tests (in memory; not for production).",
        discussion: """
            Prints the bootstrap servers on standard output (one line) and, with --bootstrap-file, \
            writes them to that file once the cluster is ready. Topics are created at start because \
            the mock cluster does not answer CreateTopics. Fault injection goes through the control \
            HTTP server: POST /brokers/{id}/down, POST /brokers/{id}/up, \
            POST /brokers/{id}/latency?ms=N, GET /brokers, POST /topics?name=T&partitions=N.
            """)

    @Option(help: "Number of brokers (ids 1...N).")
    var brokers: Int = 3

    @Option(help: "A suite's topology (the JSON `suitectl topology --json` prints): its topics are created, each with its partition count.")
    var topology: String?

    @Option(help: "Partitions of each topology topic (default: as the topology says).")
    var partitions: Int?

    @Option(name: .customLong("topic"), help: "Extra topic as NAME:PARTITIONS (repeatable).")
    var extraTopics: [String] = []

    @Option(help: "File to write the bootstrap servers to once the cluster is up.")
    var bootstrapFile: String?

    @Option(help: "Port of the fault-injection control server (0 picks a free one).")
    var controlPort: Int = 0

    @Option(help: "File to write the control server's base URL to once it listens.")
    var controlFile: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "warning"

    func validate() throws {
        guard brokers >= 1 else { throw ValidationError("--brokers must be at least 1") }
        if let partitions, partitions < 1 { throw ValidationError("--partitions must be at least 1") }
        _ = try topics()
    }

    func topics() throws -> [KafkaDevCluster.Topic] {
        var topics: [KafkaDevCluster.Topic] = []
        if let topology {
            let declared: TopologyFile
            do {
                declared = try JSONDecoder().decode(TopologyFile.self, from: Data(contentsOf: URL(fileURLWithPath: topology)))
            } catch {
                throw ValidationError("--topology \(topology): not a topology file (`suitectl topology --json`): \(error)")
            }
            topics = declared.topics.map { KafkaDevCluster.Topic(name: $0.name, partitions: partitions ?? $0.partitions) }
        }
        for spec in extraTopics {
            let parts = spec.split(separator: ":")
            guard parts.count == 2, let count = Int(parts[1]), count >= 1, !parts[0].isEmpty else {
                throw ValidationError("--topic must be NAME:PARTITIONS with PARTITIONS >= 1, got '\(spec)'")
            }
            topics.append(.init(name: String(parts[0]), partitions: count))
        }
        return topics
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .warning
            return handler
        }
        let logger = Logger(label: "kafka-dev")
        let cluster: KafkaDevCluster
        do {
            cluster = try KafkaDevCluster(brokers: brokers, topics: try topics(), logger: logger)
        } catch let error as KafkaError {
            throw CleanExit.message("kafka-dev: \(error)")
        }
        FileHandle.standardOutput.write(Data((cluster.bootstrapServers + "\n").utf8))
        if let bootstrapFile {
            try AtomicFile.write(cluster.bootstrapServers + "\n", to: bootstrapFile)
        }

        let router = Router()
        KafkaDevControlRoutes(cluster: cluster).register(on: router)
        let controlFile = self.controlFile
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: controlPort), serverName: "kafka-dev"),
            services: [KafkaDevClusterService(cluster: cluster)],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let url = "http://127.0.0.1:\(port)"
                FileHandle.standardError.write(Data("kafka-dev: control server at \(url)\n".utf8))
                if let controlFile { try? AtomicFile.write(url + "\n", to: controlFile) }
            },
            logger: logger)
        try await app.runService()
    }
}

/// The part of `suitectl topology --json` kafka-dev reads.
struct TopologyFile: Decodable {
    struct Topic: Decodable {
        var name: String
        var partitions: Int
    }

    var topics: [Topic]
}

/// Keeps the cluster up until graceful shutdown, then stops its brokers.
struct KafkaDevClusterService: Service {
    let cluster: KafkaDevCluster

    func run() async throws {
        try? await gracefulShutdown()
        cluster.shutdown()
    }
}

enum AtomicFile {
    /// Writes through a temporary file and a rename, so a reader never sees half a line.
    static func write(_ text: String, to path: String) throws {
        let temporary = path + ".tmp"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }
}

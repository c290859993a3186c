import ArgumentParser
import CheckoutReadModels
import CheckoutSuite
import EventSourcing
import EventStore
import Foundation
import Kafka
import Logging
import PostgresNIO
import Projections
import ServiceSupport
import Synchronization

/// Projection throughput with 1, 2 and 3 projector processes in one consumer group, each a
/// child process (`suite-bench projector`) on the same cluster and database. The clock starts
/// once every process has its partitions (the group is formed on an empty topic first, so no
/// rebalance falls inside the measurement) and the events are produced then.
struct ScaleBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale", abstract: "Projection throughput with 1, 2 and 3 projector processes.")

    @Option(help: "Events to project per run (StockRestocked over --streams SKUs).") var events: Int = 200_000
    @Option(help: "Streams (SKUs).") var streams: Int = 2_000
    @Option(help: "Kafka partitions.") var partitions: Int = 12
    @Option(help: "Projector process counts, comma separated.") var processes: String = "1,2,3"
    @Option(help: "PostgreSQL URL of the cluster (default $DATABASE_URL).") var databaseURL: String?
    @Option(help: "Write results as JSON to this file.") var json: String?

    func run() async throws {
        let logger = BenchEnvironment.logger(level: .error)
        let base = try BenchEnvironment.databaseURL(databaseURL)
        let counts = processes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
        guard !counts.isEmpty else { throw ValidationError("--processes must list positive counts, e.g. 1,2,3") }
        var results: [BenchmarkResult] = []
        for count in counts {
            let throughput = try await BenchDatabase.withFreshDatabase(baseURL: base, logger: logger) { client, url in
                try await measure(processes: count, client: client, databaseURL: url, logger: logger)
            }
            let baseline = results.first?.throughput ?? throughput
            results.append(
                BenchmarkResult(
                    name: "project.scale.\(count)", throughput: throughput, unit: "events/s", p50_ms: 0, p99_ms: 0, baseline_throughput: baseline,
                    ratio: throughput / baseline, rounds: 1, operations: events,
                    details: ["processes": "\(count)", "partitions": "\(partitions)", "baseline": "the same run with \(counts[0]) process(es)"]))
            results.last?.printLine()
        }
        if let json { try BenchmarkResult.write(results, to: json) }
    }

    private func measure(processes count: Int, client: PostgresClient, databaseURL: String, logger: Logger) async throws -> Double {
        try await ProjectionSchema.migrate(readModels: [CheckoutReadModels.stockLevels], roles: CheckoutNames.roles, on: client, logger: logger)
        let topic = CheckoutNames.Topics.stockEvents
        let cluster = try KafkaDevCluster(brokers: 1, topics: [.init(name: topic, partitions: partitions)], logger: logger)
        defer { cluster.shutdown() }
        let owned = OwnedPartitions()
        var children: [Process] = []
        defer { for child in children where child.isRunning { child.terminate() } }
        for index in 0..<count {
            children.append(
                try owned.launch(
                    index: index,
                    arguments: [
                        "projector", "--bootstrap-servers", cluster.bootstrapServers, "--database-url", databaseURL, "--topic", topic,
                        "--instance", "projector-\(index)",
                    ]))
        }
        let deadline = ContinuousClock.now + .seconds(90)
        while owned.total(of: count) != partitions {
            guard ContinuousClock.now < deadline else { throw ValidationError("the projectors did not share the partitions within 90 s") }
            try await Task.sleep(for: .milliseconds(10))
        }
        let producer = try KafkaProducer(configuration: .producer(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let clock = ContinuousClock()
        let started = clock.now
        let all = (0..<events).map { index in
            let sku = "SKU-\(index % streams)"
            return EventKafkaMapping.message(
                for: RecordedEvent(
                    eventID: UUID(), streamID: "stock-\(sku)", streamType: "stock", streamVersion: Int64(index / streams + 1),
                    globalPosition: Int64(index + 1), type: "StockRestocked", schemaVersion: 1, recordedAt: Date(), correlationID: "bench",
                    causationID: nil, metadata: [:], payload: Array("{\"sku\":\"\(sku)\",\"quantity\":1}".utf8)),
                topic: topic)
        }
        for start in stride(from: 0, to: all.count, by: 20_000) {
            for result in await producer.send(Array(all[start..<min(start + 20_000, all.count)])) { _ = try result.get() }
        }
        while try await client.query("SELECT coalesce(sum(on_hand), 0)::int8 FROM read_models.stock_levels", logger: logger)
            .collect().first?.decode(Int64.self) ?? 0 < Int64(events)
        {
            try await Task.sleep(for: .milliseconds(5))
        }
        let seconds = (clock.now - started).seconds
        await producer.close()
        return Double(events) / seconds
    }
}

/// The partitions each child process says it owns ("owned N" lines on its standard output).
final class OwnedPartitions: Sendable {
    private let counts = Mutex<[Int: Int]>([:])

    func total(of children: Int) -> Int {
        counts.withLock { counts in counts.count == children ? counts.values.reduce(0, +) : -1 }
    }

    func launch(index: Int, arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        pipe.fileHandleForReading.readabilityHandler = { [self] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix("owned ") {
                if let value = Int(line.dropFirst("owned ".count)) { counts.withLock { $0[index] = value } }
            }
        }
        try process.run()
        return process
    }
}

/// One projector of the scale benchmark, as a child process: the stock-levels projection in the
/// benchmark's consumer group, reporting the partitions it owns until it is terminated.
struct ProjectorWorker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "projector", abstract: "A projector process for `scale`.", shouldDisplay: false)

    @Option var bootstrapServers: String
    @Option var databaseURL: String
    @Option var topic: String
    @Option var instance: String

    func run() async throws {
        let logger = BenchEnvironment.logger(level: .error)
        try await BenchDatabase.withClient(databaseURL, logger: logger) { client in
            var configuration = ProjectionProcessor.Configuration(
                name: "bench-scale", topics: [topic], instanceID: instance, bootstrapServers: bootstrapServers)
            configuration.deadLetterTopic = nil
            let processor = ProjectionProcessor(
                configuration: configuration, projections: [StockLevelsProjection()], client: client, producer: nil, logger: logger)
            let reporting = Task {
                var last = -1
                while !Task.isCancelled {
                    let owned = processor.status.ownedPartitions.count
                    if owned != last {
                        FileHandle.standardOutput.write(Data("owned \(owned)\n".utf8))
                        last = owned
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            defer { reporting.cancel() }
            try await processor.run()
        }
    }
}

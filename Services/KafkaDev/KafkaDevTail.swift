import ArgumentParser
import Foundation
import Kafka
import Logging

/// Prints a topic's records as JSON lines (key, partition, offset, headers, value), from the
/// beginning, for looking at what the suite published. Works against any cluster.
struct KafkaDevTail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail", abstract: "Print a topic's records as JSON lines, from the beginning.")

    @Option(help: "Bootstrap servers (default: $KAFKA_BROKERS).")
    var brokers: String?

    @Option(help: "Topic to read.")
    var topic: String

    @Option(help: "Stop after this many records (0: keep following).")
    var limit: Int = 0

    @Option(help: "Stop after this many seconds without a new record (0: never).")
    var idle: Int = 3

    func run() async throws {
        guard let brokers = brokers ?? ProcessInfo.processInfo.environment["KAFKA_BROKERS"], !brokers.isEmpty else {
            throw ValidationError("give --brokers or set KAFKA_BROKERS")
        }
        var logger = Logger(label: "kafka-dev-tail")
        logger.logLevel = .error
        let consumer = try KafkaConsumer(
            configuration: .consumer(
                bootstrapServers: brokers, groupID: "kafka-dev-tail-\(UUID().uuidString.prefix(8))",
                overrides: ["auto.offset.reset": "earliest"]),
            topics: [topic], logger: logger)
        var printed = 0
        var lastRecord = ContinuousClock.now
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        while limit == 0 || printed < limit {
            let batch = try await consumer.poll(maxMessages: 500, timeout: .milliseconds(250))
            if batch.isEmpty {
                if idle > 0, ContinuousClock.now - lastRecord > .seconds(idle) { break }
                continue
            }
            lastRecord = .now
            for record in batch where limit == 0 || printed < limit {
                let line = TailLine(
                    partition: record.partition, offset: record.offset, key: record.keyString,
                    headers: Dictionary(record.headers.map { ($0.key, $0.stringValue ?? "") }, uniquingKeysWith: { _, last in last }),
                    value: String(decoding: record.value, as: UTF8.self))
                FileHandle.standardOutput.write(try encoder.encode(line) + Data("\n".utf8))
                printed += 1
            }
        }
        await consumer.close()
    }
}

struct TailLine: Encodable {
    var partition: Int32
    var offset: Int64
    var key: String?
    var headers: [String: String]
    var value: String
}

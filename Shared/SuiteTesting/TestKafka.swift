public import Kafka
import Foundation

/// A throwaway Kafka-protocol cluster per test (librdkafka's mock cluster, in process) with
/// uniquely named topics and groups, so tests never see each other's records.
public struct TestKafka: Sendable {
    public let cluster: KafkaDevCluster

    public init(brokers: Int = 3) throws {
        cluster = try KafkaDevCluster(brokers: brokers, logger: testLogger("kafka-dev"))
    }

    public var bootstrapServers: String { cluster.bootstrapServers }

    /// Creates a topic named after `prefix` with a random suffix and returns its name.
    public func makeTopic(_ prefix: String = "test", partitions: Int) throws -> String {
        let name = "\(prefix).\(UUID().uuidString.prefix(8))"
        try cluster.createTopic(.init(name: name, partitions: partitions))
        return name
    }

    public func producer(_ overrides: [String: String] = [:]) throws -> KafkaProducer {
        try KafkaProducer(
            configuration: .producer(bootstrapServers: bootstrapServers, overrides: overrides),
            logger: testLogger("producer"))
    }

    /// A group member that starts at the earliest offset when the group has committed nothing.
    public func consumer(
        group: String, topics: [String], rebalance: KafkaRebalanceHandler = .init(), _ overrides: [String: String] = [:]
    ) throws -> KafkaConsumer {
        var settings = ["auto.offset.reset": "earliest"]
        settings.merge(overrides) { _, override in override }
        return try KafkaConsumer(
            configuration: .consumer(bootstrapServers: bootstrapServers, groupID: group, overrides: settings),
            topics: topics, rebalance: rebalance, logger: testLogger("consumer"))
    }
}

extension TestKafka {
    /// A suite's topics (fixed names; every test has its own cluster).
    public func createSuiteTopics(_ topics: [String], partitions: Int = 6) throws {
        for topic in topics {
            try cluster.createTopic(.init(name: topic, partitions: partitions))
        }
    }

    /// Reads `topics` from the beginning until `done` says the records seen so far suffice.
    public func readAll(
        _ topics: [String], timeout: Duration = .seconds(60), until done: ([KafkaConsumedMessage]) -> Bool
    ) async throws -> [KafkaConsumedMessage] {
        let reader = try consumer(group: "reader-\(UUID())", topics: topics)
        var records: [KafkaConsumedMessage] = []
        do {
            try await waitUntil("records on \(topics)", timeout: timeout, every: .milliseconds(1)) {
                records += try await reader.poll(maxMessages: 5_000)
                return done(records)
            }
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
        return records
    }
}

import ConsumerRuntime
import Kafka
import SuiteTesting
import Testing

/// What `/health/ready` asks a consumer-group member (projector, saga processor, command
/// consumer): is it working on partitions, and does its consumer reach a broker.
@Suite("Consumer readiness", .serialized)
struct ConsumerReadinessTests {
    struct NullHandler: BatchHandler {
        var commits: CommitMode { .kafkaOffsets }
        func decode(_ record: KafkaConsumedMessage) -> Int64 { record.offset }
        func handle(_ batch: [Delivery<Int64>], of partition: KafkaTopicPartition) async throws -> BatchOutcome { .handled }
    }

    private func member(_ kafka: TestKafka, topic: String, group: String, instance: String) -> ConsumerRuntime<NullHandler> {
        var configuration = ConsumerRuntime<NullHandler>.Configuration(
            groupID: group, topics: [topic], instanceID: instance, bootstrapServers: kafka.bootstrapServers)
        configuration.kafkaOverrides = ["auto.offset.reset": "earliest"]
        return ConsumerRuntime(configuration: configuration, handler: NullHandler(), logger: testLogger(instance))
    }

    @Test("a member its group leaves without a partition is not ready once the grace has passed; the member that owns it is ready")
    func memberWithoutPartitions() async throws {
        let kafka = try TestKafka(brokers: 1)
        let topic = try kafka.makeTopic("ready", partitions: 1)
        let group = "ready-\(topic)"
        let members = [member(kafka, topic: topic, group: group, instance: "a"), member(kafka, topic: topic, group: group, instance: "b")]
        let running = members.map { member in Task { try await member.run() } }
        var idle: ConsumerRuntime<NullHandler>?
        try await waitUntil("one member owns the partition, the other was assigned none", timeout: .seconds(60), every: .milliseconds(100)) {
            let owners = members.filter { $0.status.ownedPartitions.count == 1 }
            let left = members.filter { $0.status.readinessProblem(grace: .zero)?.contains("no partition assigned") == true }
            idle = left.first
            return owners.count == 1 && left.count == 1
        }
        let spare = try #require(idle)
        // Within the grace (a rebalance in progress) it still counts as ready.
        #expect(await spare.readinessProblem(grace: .seconds(30)) == nil)
        #expect(await spare.readinessProblem(grace: .zero)?.contains("no partition assigned") == true)
        let owner = try #require(members.first { $0.status.ownedPartitions.count == 1 })
        #expect(await owner.readinessProblem(grace: .zero) == nil)
        for task in running {
            task.cancel()
            _ = try? await task.value
        }
    }

    @Test("a member whose consumer cannot reach a broker is not ready, and says so")
    func lostBroker() async throws {
        let kafka = try TestKafka(brokers: 1)
        let topic = try kafka.makeTopic("ready-down", partitions: 2)
        let runtime = member(kafka, topic: topic, group: "ready-down-\(topic)", instance: "a")
        let running = Task { try await runtime.run() }
        try await waitUntil("the member owns both partitions", timeout: .seconds(60), every: .milliseconds(100)) {
            runtime.status.ownedPartitions.count == 2
        }
        #expect(await runtime.readinessProblem(grace: .seconds(30)) == nil)
        try kafka.cluster.takeBrokerDown(1)
        let problem = await runtime.readinessProblem(grace: .seconds(30), timeout: .seconds(1))
        #expect(problem?.contains("lost its broker connection") == true, "\(problem ?? "ready")")
        try kafka.cluster.bringBrokerUp(1)
        running.cancel()
        _ = try? await running.value
    }
}

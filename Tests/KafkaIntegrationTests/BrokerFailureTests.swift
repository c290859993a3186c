import Foundation
import Kafka
import SuiteTesting
import Testing

@Suite("Producing while a broker is down")
struct BrokerFailureTests {
    private func messages(_ topic: String, count: Int, tag: String) -> [KafkaOutgoingMessage] {
        (0..<count).map { KafkaOutgoingMessage(topic: topic, key: "key-\($0 % 97)", value: Array("\(tag)\($0)".utf8)) }
    }

    /// Every acknowledged record must be readable back with its value at its offset.
    private func readBack(_ kafka: TestKafka, topic: String, expected: Int) async throws -> [String: (Int32, Int64)] {
        let consumer = try kafka.consumer(group: "verify-\(UUID())", topics: [topic])
        var seen: [String: (Int32, Int64)] = [:]
        try await waitUntil("\(expected) records readable", timeout: .seconds(60), every: .milliseconds(1)) {
            for record in try await consumer.poll(maxMessages: 1_000) {
                seen[String(decoding: record.value, as: UTF8.self)] = (record.partition, record.offset)
            }
            return seen.count >= expected
        }
        await consumer.close()
        return seen
    }

    @Test("records sent while a broker is down are delivered once it is back")
    func deliveredAfterBrokerReturns() async throws {
        let kafka = try TestKafka(brokers: 3)
        let topic = try kafka.makeTopic("down-up", partitions: 6)
        let producer = try kafka.producer(["message.timeout.ms": "60000"])
        // Warm up so the producer knows every partition's leader before the fault.
        for result in await producer.send(messages(topic, count: 10, tag: "warm-up-")) { _ = try result.get() }

        try kafka.cluster.takeBrokerDown(1)
        let sending = Task { await producer.send(messages(topic, count: 2_000, tag: "m")) }
        try await Task.sleep(for: .seconds(2))  // the fault lasts a while on purpose: records pile up for broker 1
        try kafka.cluster.bringBrokerUp(1)
        let results = await sending.value
        await producer.close()

        let reports = try results.map { try $0.get() }
        #expect(reports.count == 2_000)
        let seen = try await readBack(kafka, topic: topic, expected: 2_010)
        for (index, report) in reports.enumerated() {
            let position = seen["m\(index)"]
            #expect(position?.0 == report.partition && position?.1 == report.offset, "record m\(index) not at its acknowledged offset")
        }
    }

    @Test("records for a broker that stays down fail with a typed timeout; the rest are delivered")
    func failsTypedWhenBrokerStaysDown() async throws {
        let kafka = try TestKafka(brokers: 3)
        let topic = try kafka.makeTopic("down", partitions: 24)
        let producer = try kafka.producer(["message.timeout.ms": "3000"])
        for result in await producer.send(messages(topic, count: 10, tag: "warm-up-")) { _ = try result.get() }

        try kafka.cluster.takeBrokerDown(2)
        let results = await producer.send(messages(topic, count: 600, tag: "m"))
        await producer.close()
        try kafka.cluster.bringBrokerUp(2)

        var delivered = 0
        var failedPartitions: Set<Int32> = []
        for result in results {
            switch result {
            case .success: delivered += 1
            case .failure(let error):
                #expect(error.code == .deliveryFailed)
                #expect(error.isTimeout, "unexpected failure: \(error)")
                if let partition = error.partition { failedPartitions.insert(partition) }
            }
        }
        #expect(delivered > 0 && delivered < 600, "expected some partitions unreachable, delivered \(delivered)")
        #expect(!failedPartitions.isEmpty)
        // Nothing acknowledged was lost; nothing failed was half-written.
        let seen = try await readBack(kafka, topic: topic, expected: delivered + 10)
        #expect(seen.count == delivered + 10)
    }
}

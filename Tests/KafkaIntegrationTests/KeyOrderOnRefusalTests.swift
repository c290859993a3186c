import Foundation
import Kafka
import SuiteTesting
import Testing

@Suite("Per-key order when a record is refused")
struct KeyOrderOnRefusalTests {
    @Test("a record librdkafka refuses fails, and so do the later records of its key in the same send; other keys go through")
    func laterRecordsOfARefusedKeyAreNotSent() async throws {
        let kafka = try TestKafka()
        let topic = try kafka.makeTopic(partitions: 1)
        let producer = try kafka.producer(["message.max.bytes": "10000"])
        let big = [UInt8](repeating: 0x61, count: 20_000)
        let results = await producer.send([
            KafkaOutgoingMessage(topic: topic, key: Array("k1".utf8), value: big),
            KafkaOutgoingMessage(topic: topic, key: Array("k1".utf8), value: Array("k1 v2".utf8)),
            KafkaOutgoingMessage(topic: topic, key: Array("k2".utf8), value: Array("k2 v1".utf8)),
        ])
        await producer.close()
        #expect(results.map { if case .success = $0 { true } else { false } } == [false, false, true])
        let records = try await kafka.readAll([topic]) { !$0.isEmpty }
        #expect(records.map(\.keyString) == ["k2"], "k1's second record must not reach the log ahead of its first")
    }
}

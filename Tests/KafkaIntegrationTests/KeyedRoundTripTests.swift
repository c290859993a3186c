import Foundation
import Kafka
import SuiteTesting
import Testing

@Suite("Producing and consuming keyed records")
struct KeyedRoundTripTests {
    @Test("10,000 keyed records with headers come back in per-key order, none missing")
    func keyedRecordsKeepOrderAndHeaders() async throws {
        let kafka = try TestKafka()
        let topic = try kafka.makeTopic("roundtrip", partitions: 12)
        let producer = try kafka.producer()
        let keys = (0..<100).map { "stream-\($0)" }
        let perKey = 100

        var outgoing: [KafkaOutgoingMessage] = []
        for sequence in 0..<perKey {
            for key in keys {
                outgoing.append(
                    KafkaOutgoingMessage(
                        topic: topic, key: key, value: Array("\(key):\(sequence)".utf8),
                        headers: [
                            KafkaHeader(key: "ce_id", string: "\(key)-\(sequence)"),
                            KafkaHeader(key: "stream-version", string: "\(sequence)"),
                            KafkaHeader(key: "empty", value: nil),
                        ]))
            }
        }
        var partitionOfKey: [String: Int32] = [:]
        for chunkStart in stride(from: 0, to: outgoing.count, by: 2_000) {
            let chunk = Array(outgoing[chunkStart..<min(chunkStart + 2_000, outgoing.count)])
            let reports = await producer.send(chunk)
            for (message, result) in zip(chunk, reports) {
                let report = try result.get()
                let key = String(decoding: message.key ?? [], as: UTF8.self)
                if let known = partitionOfKey[key] { #expect(known == report.partition, "key \(key) changed partition") }
                partitionOfKey[key] = report.partition
            }
        }
        await producer.close()

        let consumer = try kafka.consumer(group: "roundtrip-\(UUID())", topics: [topic])
        var received: [String: [KafkaConsumedMessage]] = [:]
        var total = 0
        try await waitUntil("all 10,000 records consumed", timeout: .seconds(60), every: .milliseconds(1)) {
            for record in try await consumer.poll(maxMessages: 2_000) {
                received[record.keyString ?? "", default: []].append(record)
                total += 1
            }
            return total >= outgoing.count
        }
        await consumer.close()

        #expect(total == outgoing.count)
        #expect(Set(received.keys) == Set(keys))
        for key in keys {
            let records = received[key] ?? []
            #expect(records.map { String(decoding: $0.value, as: UTF8.self) } == (0..<perKey).map { "\(key):\($0)" })
            #expect(records.map { $0.headers.string("stream-version") } == (0..<perKey).map { "\($0)" })
            #expect(records.allSatisfy { $0.headers.string("ce_id") == "\(key)-\($0.headers.string("stream-version") ?? "")" })
            #expect(records.allSatisfy { $0.headers.contains(KafkaHeader(key: "empty", value: nil)) })
            #expect(records.allSatisfy { $0.partition == partitionOfKey[key] })
        }
    }
}

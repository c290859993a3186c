import Kafka
import ServiceHTTP
import ServiceSupport
import Testing

/// A dead-letter copy must be one the producer can send: otherwise `deliver` retries it for
/// ever and the partition it came from never moves (issue 22).
@Suite struct DeadLetterMessageTests {
    func record(value: Int, header: Int = 10) -> KafkaConsumedMessage {
        KafkaConsumedMessage(
            topic: "t", partition: 3, offset: 42, key: Array("order-1".utf8), value: Array(repeating: 0x61, count: value),
            headers: [KafkaHeader(key: "stream-id", value: Array(repeating: 0x62, count: header))])
    }

    func size(_ message: KafkaOutgoingMessage) -> Int {
        message.value.count + (message.key?.count ?? 0) + message.headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
    }

    @Test func aRecordNearTheBrokersLimitIsCopiedWithoutItsValueAndSaysWhereItIs() {
        for original in [record(value: 999_000), record(value: 10, header: 999_000)] {
            let copy = DeadLetterMessage.make(from: original, reason: "refused", processor: "p", topic: "dlq")
            #expect(size(copy) < 100_000)
            #expect(copy.headers.string("dlq-truncated")?.contains("dlq-source") == true)
            #expect(copy.headers.string("dlq-source") == "t/3/42")
            #expect(copy.headers.string("dlq-reason") == "refused")
        }
    }

    @Test func anOrdinaryRecordIsCopiedWhole() {
        let original = record(value: 500_000)
        let copy = DeadLetterMessage.make(from: original, reason: "refused", processor: "p", topic: "dlq")
        #expect(copy.value == original.value && copy.key == original.key)
        #expect(copy.headers.string("dlq-truncated") == nil)
        #expect(copy.headers.string("stream-id") == original.headers.string("stream-id"))
    }
}

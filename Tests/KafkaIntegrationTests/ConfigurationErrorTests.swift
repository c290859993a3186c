import Kafka
import SuiteTesting
import Testing

@Suite("Bad configuration")
struct ConfigurationErrorTests {
    @Test("an unknown property is named in a typed error")
    func unknownProperty() throws {
        let error = #expect(throws: KafkaError.self) {
            try KafkaProducer(
                configuration: .producer(bootstrapServers: "127.0.0.1:9092", overrides: ["no.such.property": "1"]),
                logger: testLogger("bad-config"))
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.reason.contains("no.such.property") == true)
    }

    @Test("an invalid value is rejected with the property and the reason")
    func invalidValue() throws {
        let error = #expect(throws: KafkaError.self) {
            try KafkaConsumer(
                configuration: .consumer(bootstrapServers: "127.0.0.1:9092", groupID: "g", overrides: ["session.timeout.ms": "soon"]),
                topics: ["t"], logger: testLogger("bad-config"))
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.reason.contains("session.timeout.ms") == true)
    }

    @Test("unreachable brokers: sends time out and metadata fails, with typed errors")
    func unreachableBrokers() async throws {
        let producer = try KafkaProducer(
            configuration: .producer(bootstrapServers: "127.0.0.1:1", overrides: ["message.timeout.ms": "1500"]),
            logger: testLogger("unreachable"))
        await #expect {
            _ = try await producer.send(KafkaOutgoingMessage(topic: "nowhere", key: "k", value: [1]))
        } throws: { error in
            (error as? KafkaError)?.code == .deliveryFailed && (error as? KafkaError)?.isTimeout == true
        }
        await #expect {
            _ = try await producer.metadata(timeout: .milliseconds(500))
        } throws: { error in
            (error as? KafkaError)?.code == .brokersUnreachable
        }
        await producer.close()

        let consumer = try KafkaConsumer(
            configuration: .consumer(bootstrapServers: "127.0.0.1:1", groupID: "g"), topics: ["nowhere"],
            logger: testLogger("unreachable"))
        #expect(try await consumer.poll(timeout: .milliseconds(300)).isEmpty)
        await consumer.close()
    }

    @Test("a closed producer refuses to send")
    func closedProducer() async throws {
        let producer = try KafkaProducer(configuration: .producer(bootstrapServers: "127.0.0.1:1"), logger: testLogger("closed"))
        await producer.close()
        await #expect {
            _ = try await producer.send(KafkaOutgoingMessage(topic: "t", key: "k", value: [1]))
        } throws: { error in
            (error as? KafkaError)?.code == .closed
        }
    }
}

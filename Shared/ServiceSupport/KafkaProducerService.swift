public import Kafka
public import ServiceLifecycle

/// Keeps a Kafka producer for the life of the service group and closes it on graceful
/// shutdown, after the services that produce through it were started before it stopped.
public struct KafkaProducerService: Service {
    public let producer: KafkaProducer

    public init(producer: KafkaProducer) {
        self.producer = producer
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await producer.close()
    }
}

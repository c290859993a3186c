import CRdKafka
import Dispatch
public import Logging
import Synchronization

/// A local Kafka-protocol cluster for development and tests: librdkafka's mock cluster, which
/// speaks the real protocol over TCP (so other processes can use it) and keeps everything in
/// memory. It does not answer CreateTopics, so topics are created here. Not for production.
public final class KafkaDevCluster: Sendable {
    /// A topic to create when the cluster starts.
    public struct Topic: Sendable, Hashable {
        public var name: String
        public var partitions: Int

        public init(name: String, partitions: Int) {
            self.name = name
            self.partitions = partitions
        }
    }

    private struct Native: @unchecked Sendable {
        // The mock cluster's calls are thread-safe: each posts an operation to the cluster's thread.
        let client: OpaquePointer
        let cluster: OpaquePointer
    }

    private let native: Native
    private let context: KafkaClientContext
    private let stopped = Mutex(false)
    public let brokerCount: Int
    public let bootstrapServers: String

    public init(brokers: Int = 3, topics: [Topic] = [], logger: Logger) throws(KafkaError) {
        guard brokers >= 1 else { throw KafkaError(.clusterOperationFailed, reason: "a cluster needs at least one broker, got \(brokers)") }
        // The brokers' sockets take their options from this client: without Nagle, a response
        // is not held back until the client's delayed ACK (measured: acknowledgements 45 ms
        // slower).
        let conf = try KafkaConfiguration(bootstrapServers: "", properties: ["socket.nagle.disable": "true"]).makeNativeWithoutBootstrap()
        let context = KafkaClientContext(logger: logger)
        context.install(on: conf)
        let client = try KafkaClientFactory.create(RD_KAFKA_PRODUCER, conf: conf)
        guard let cluster = rd_kafka_mock_cluster_new(client, Int32(brokers)) else {
            rd_kafka_destroy(client)
            throw KafkaError(.clusterOperationFailed, reason: "librdkafka could not start the mock cluster")
        }
        self.native = Native(client: client, cluster: cluster)
        self.context = context
        self.brokerCount = brokers
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        for topic in topics {
            try createTopic(topic)
        }
    }

    /// Never blocks the releasing thread: the mock cluster and its client are destroyed on a
    /// Dispatch thread (librdkafka joins its broker threads there).
    deinit {
        let native = self.native
        let context = self.context
        guard !stopped.withLock({ $0 }) else { return }
        DispatchQueue.global().async {
            rd_kafka_mock_cluster_destroy(native.cluster)
            rd_kafka_destroy(native.client)
            withExtendedLifetime(context) {}
        }
    }

    public func createTopic(_ topic: Topic) throws(KafkaError) {
        guard topic.partitions >= 1 else {
            throw KafkaError(.clusterOperationFailed, reason: "topic \(topic.name) needs at least one partition", topic: topic.name)
        }
        let replication = Int32(min(3, brokerCount))
        let response = rd_kafka_mock_topic_create(native.cluster, topic.name, Int32(topic.partitions), replication)
        guard response == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(.clusterOperationFailed, response: response, topic: topic.name)
        }
    }

    /// Disconnects a broker and refuses new connections; leadership does not move, so records
    /// for its partitions wait until it is back (or time out in the producer).
    public func takeBrokerDown(_ id: Int32) throws(KafkaError) {
        try checkBroker(id)
        let response = rd_kafka_mock_broker_set_down(native.cluster, id)
        guard response == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(.clusterOperationFailed, response: response) }
    }

    public func bringBrokerUp(_ id: Int32) throws(KafkaError) {
        try checkBroker(id)
        let response = rd_kafka_mock_broker_set_up(native.cluster, id)
        guard response == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(.clusterOperationFailed, response: response) }
    }

    /// Adds a round-trip delay to a broker, to simulate a slow network.
    public func setBrokerLatency(_ id: Int32, milliseconds: Int) throws(KafkaError) {
        try checkBroker(id)
        let response = rd_kafka_mock_broker_set_rtt(native.cluster, id, Int32(clamping: milliseconds))
        guard response == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(.clusterOperationFailed, response: response) }
    }

    private func checkBroker(_ id: Int32) throws(KafkaError) {
        guard id >= 1, id <= brokerCount else {
            throw KafkaError(.clusterOperationFailed, reason: "no broker \(id): brokers are 1...\(brokerCount)")
        }
    }

    /// Stops the brokers (clients connected to it lose their connections). Idempotent.
    public func shutdown() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        rd_kafka_mock_cluster_destroy(native.cluster)
        rd_kafka_destroy(native.client)
    }
}

extension KafkaConfiguration {
    /// The mock cluster's bookkeeping client talks to no broker.
    func makeNativeWithoutBootstrap() throws(KafkaError) -> OpaquePointer {
        var copy = self
        copy.properties.removeValue(forKey: "bootstrap.servers")
        return try copy.makeNative()
    }
}

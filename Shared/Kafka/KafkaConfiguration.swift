import CRdKafka
import Synchronization

/// librdkafka properties for one client. Every property passes through unchanged, so TLS,
/// SASL and tuning settings work against a real cluster without code changes.
public struct KafkaConfiguration: Sendable {
    public var properties: [String: String]

    public init(bootstrapServers: String, properties: [String: String] = [:]) {
        self.properties = properties
        self.properties["bootstrap.servers"] = bootstrapServers
    }

    public subscript(property: String) -> String? {
        get { properties[property] }
        set { properties[property] = newValue }
    }

    /// Idempotent producer: acks from all in-sync replicas, no duplicates on retry, per-partition sequence kept.
    public static func producer(bootstrapServers: String, overrides: [String: String] = [:]) -> Self {
        var configuration = Self(
            bootstrapServers: bootstrapServers,
            properties: [
                "enable.idempotence": "true",
                "acks": "all",
                // The relays hand over a whole round at once, and librdkafka batches what queues
                // while a request is in flight: lingering only adds latency (measured with
                // `suite-bench relay`: publish p50 17 ms at 0 against 28 ms at 5, drain no slower).
                "linger.ms": "0",
                // No Nagle on our side of the connection either (the dev cluster's brokers are
                // what held responses back; see `KafkaDevCluster`).
                "socket.nagle.disable": "true",
                // A record not acknowledged in 30 s fails back to the caller (who retries it)
                // instead of librdkafka's 5 minutes of silence.
                "message.timeout.ms": "30000",
                "compression.type": "lz4",
            ])
        configuration.properties.merge(overrides) { _, override in override }
        return configuration
    }

    /// The consumers' `fetch.wait.max.ms` in this process (50 unless the service was started
    /// with `KAFKA_FETCH_WAIT_MS`); read by every consumer made after it is set.
    static let consumerFetchWait = Atomic<Int>(50)

    /// Sets `fetch.wait.max.ms` for the consumers this process makes from now on.
    public static func setConsumerFetchWait(milliseconds: Int) { consumerFetchWait.store(milliseconds, ordering: .relaxed) }

    /// Consumer group member with manual commits and cooperative-sticky assignment.
    /// `auto.offset.reset=error`: a position that vanished is an incident to report, never a silent skip.
    public static func consumer(
        bootstrapServers: String, groupID: String, overrides: [String: String] = [:]
    ) -> Self {
        var configuration = Self(
            bootstrapServers: bootstrapServers,
            properties: [
                "group.id": groupID,
                "enable.auto.commit": "false",
                "enable.auto.offset.store": "false",
                "partition.assignment.strategy": "cooperative-sticky",
                "auto.offset.reset": "error",
                "session.timeout.ms": "6000",
                "heartbeat.interval.ms": "500",
                // A fetch returns after at most this long when there is little to read
                // (librdkafka waits 500 ms by default): a saga may cross Kafka many times in
                // sequence. A broker answers as soon as data arrives; kafka-dev's mock holds
                // every fetch this long, so it is a setting (`KAFKA_FETCH_WAIT_MS`).
                "fetch.wait.max.ms": "\(consumerFetchWait.load(ordering: .relaxed))",
                "socket.nagle.disable": "true",
            ])
        configuration.properties.merge(overrides) { _, override in override }
        return configuration
    }

    /// Builds the native configuration; the caller owns the returned `rd_kafka_conf_t`.
    func makeNative() throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(.clientCreationFailed, reason: "rd_kafka_conf_new returned nothing")
        }
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
            var errorText = [CChar](repeating: 0, count: 512)
            let result = rd_kafka_conf_set(conf, name, value, &errorText, errorText.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw KafkaError(.invalidConfiguration, reason: "property '\(name)': \(reason)")
            }
        }
        return conf
    }
}

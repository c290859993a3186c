import CRdKafka

/// What the cluster reports about itself: its brokers and each topic's partition count.
public struct KafkaClusterMetadata: Sendable {
    public var brokers: [Int32: String]
    public var partitionCounts: [String: Int]

    static func fetch(from handle: KafkaHandleGuard, timeout: Duration) async throws(KafkaError) -> Self {
        let milliseconds = Int32(clamping: timeout.milliseconds)
        let result = await offloaded { () -> Result<Self, KafkaError> in
            Result { () throws(KafkaError) -> Self in
                try handle.withHandle { pointer throws(KafkaError) -> Self in
                    var metadata: UnsafePointer<rd_kafka_metadata>?
                    let response = rd_kafka_metadata(pointer, 1, nil, &metadata, milliseconds)
                    guard response == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                        throw KafkaError(.brokersUnreachable, response: response)
                    }
                    defer { rd_kafka_metadata_destroy(metadata) }
                    return Self(metadata.pointee)
                }
            }
        }
        return try result.get()
    }

    init(_ native: rd_kafka_metadata) {
        var brokers: [Int32: String] = [:]
        for index in 0..<Int(native.broker_cnt) {
            let broker = native.brokers[index]
            brokers[broker.id] = "\(String(cString: broker.host)):\(broker.port)"
        }
        var partitionCounts: [String: Int] = [:]
        for index in 0..<Int(native.topic_cnt) {
            let topic = native.topics[index]
            guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            partitionCounts[String(cString: topic.topic)] = Int(topic.partition_cnt)
        }
        self.brokers = brokers
        self.partitionCounts = partitionCounts
    }
}

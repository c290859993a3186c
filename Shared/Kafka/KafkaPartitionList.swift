import CRdKafka

/// Conversions between Swift partition lists and `rd_kafka_topic_partition_list_t`.
enum KafkaPartitionList {
    /// Creates a native list; the caller destroys it with `rd_kafka_topic_partition_list_destroy`.
    static func make(_ entries: [(KafkaTopicPartition, Int64)]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        guard let list = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1))) else {
            preconditionFailure("librdkafka could not allocate a partition list")
        }
        for (partition, offset) in entries {
            let element = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)
            element?.pointee.offset = offset
        }
        return list
    }

    static func make(_ partitions: [KafkaTopicPartition]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        make(partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) })
    }

    static func entries(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> [KafkaPartitionEntry] {
        guard let list, let elements = list.pointee.elems else { return [] }
        return (0..<Int(list.pointee.cnt)).map { index in
            let element = elements[index]
            return KafkaPartitionEntry(
                partition: KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition),
                offset: element.offset,
                error: element.err)
        }
    }

    static func partitions(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> [KafkaTopicPartition] {
        entries(list).map(\.partition)
    }

    /// The first per-partition error in a list that librdkafka filled in.
    static func firstError(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>, code: KafkaError.Code) -> KafkaError? {
        for entry in entries(list) where entry.error != RD_KAFKA_RESP_ERR_NO_ERROR {
            return KafkaError(code, response: entry.error, topic: entry.partition.topic, partition: entry.partition.partition)
        }
        return nil
    }
}

struct KafkaPartitionEntry {
    var partition: KafkaTopicPartition
    var offset: Int64
    var error: rd_kafka_resp_err_t
}

extension KafkaStartPosition {
    var nativeOffset: Int64 {
        switch self {
        case .committed: Int64(RD_KAFKA_OFFSET_INVALID)
        case .beginning: Int64(RD_KAFKA_OFFSET_BEGINNING)
        case .end: Int64(RD_KAFKA_OFFSET_END)
        case .offset(let offset): offset
        }
    }
}

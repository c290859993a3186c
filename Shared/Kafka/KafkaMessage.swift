/// A Kafka record header. Values are bytes; CloudEvents headers are UTF-8 strings.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }

    public var stringValue: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

extension Array where Element == KafkaHeader {
    /// The first header with this key, decoded as UTF-8.
    public func string(_ key: String) -> String? {
        first { $0.key == key }?.stringValue
    }
}

/// A record to produce. Without a partition, librdkafka partitions by key (murmur2, as the
/// Java client does), so every record of one key lands in one partition.
public struct KafkaOutgoingMessage: Sendable {
    public var topic: String
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]

    public init(
        topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }

    public init(topic: String, key: String, value: [UInt8], headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: Array(key.utf8), value: value, headers: headers)
    }
}

/// The broker's acknowledgement of one produced record.
public struct KafkaDeliveryReport: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
}

/// A record read by a consumer.
public struct KafkaConsumedMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// Milliseconds since the epoch, as the producer or broker stamped it.
    public var timestampMilliseconds: Int64?

    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
}

extension KafkaConsumedMessage {
    /// A record as a consumer would hand it over, for code in this package that drives a
    /// consumer's handler without a broker (the projection runtime's specification path).
    package init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader]) {
        self.init(topic: topic, partition: partition, offset: offset, key: key, value: value, headers: headers, timestampMilliseconds: nil)
    }
}

public struct KafkaTopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// Where a consumer starts reading an assigned partition.
public enum KafkaStartPosition: Sendable, Hashable {
    /// The group's committed offset on the broker (librdkafka's default).
    case committed
    case beginning
    case end
    /// The offset of the next record to read.
    case offset(Int64)
}

import CRdKafka

/// A failure reported by the Kafka client, with what an operator needs to act on it.
///
/// `description` names the failure and the reason librdkafka gave; `rdKafkaCode` keeps
/// librdkafka's own error code for programmatic checks (for example to tell a timed-out
/// delivery from a rejected one).
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A configuration property is unknown or has an invalid value.
        case invalidConfiguration
        /// librdkafka refused to create the client.
        case clientCreationFailed
        /// The message could not be enqueued or the broker did not acknowledge it.
        case deliveryFailed
        /// No broker answered within the given time.
        case brokersUnreachable
        /// The consumer reported an error while polling.
        case consumerFailed
        /// The committed position of a partition no longer exists on the broker
        /// (it was pruned by retention): the consumer must not skip ahead silently.
        case offsetOutOfRange
        /// Committing offsets failed (for example after losing the partition in a rebalance).
        case commitFailed
        /// Seeking, pausing or resuming partitions failed.
        case partitionOperationFailed
        /// The mock cluster could not be created or changed.
        case clusterOperationFailed
        /// The client was already closed.
        case closed
    }

    public let code: Code
    public let reason: String
    /// librdkafka's `rd_kafka_resp_err_t` value, when the failure came from librdkafka.
    public let rdKafkaCode: Int32?
    /// The topic and partition concerned, when the failure is about one.
    public let topic: String?
    public let partition: Int32?

    public init(
        _ code: Code, reason: String, rdKafkaCode: Int32? = nil, topic: String? = nil, partition: Int32? = nil
    ) {
        self.code = code
        self.reason = reason
        self.rdKafkaCode = rdKafkaCode
        self.topic = topic
        self.partition = partition
    }

    init(_ code: Code, response: rd_kafka_resp_err_t, topic: String? = nil, partition: Int32? = nil) {
        self.init(
            code, reason: String(cString: rd_kafka_err2str(response)),
            rdKafkaCode: response.rawValue, topic: topic, partition: partition)
    }

    /// Builds the error from an `rd_kafka_error_t` and destroys it.
    init(_ code: Code, consuming error: OpaquePointer) {
        let response = rd_kafka_error_code(error)
        let reason = String(cString: rd_kafka_error_string(error))
        rd_kafka_error_destroy(error)
        self.init(code, reason: reason, rdKafkaCode: response.rawValue)
    }

    public var description: String {
        var text = "Kafka \(code.rawValue): \(reason)"
        if let topic {
            text += " (topic \(topic)"
            if let partition { text += ", partition \(partition)" }
            text += ")"
        }
        return text
    }

    /// True when librdkafka timed the message out (the broker never acknowledged it).
    public var isTimeout: Bool {
        rdKafkaCode == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue
            || rdKafkaCode == RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue
    }
}

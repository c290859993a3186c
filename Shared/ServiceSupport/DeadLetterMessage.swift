public import Kafka

/// A consumed record copied to `checkout.deadletter`: the original key, value and headers,
/// plus why it failed, where it came from and which consumer gave up on it.
public enum DeadLetterMessage {
    public static func make(
        from record: KafkaConsumedMessage, reason: String, processor: String, topic: String = SuiteTopics.deadLetters
    ) -> KafkaOutgoingMessage {
        var headers = record.headers
        headers.append(KafkaHeader(key: "dlq-reason", string: reason))
        headers.append(KafkaHeader(key: "dlq-processor", string: processor))
        headers.append(KafkaHeader(key: "dlq-source", string: "\(record.topic)/\(record.partition)/\(record.offset)"))
        return KafkaOutgoingMessage(topic: topic, key: record.key, value: record.value, headers: headers)
    }
}

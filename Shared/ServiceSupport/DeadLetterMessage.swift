public import Kafka

/// A consumed record copied to a dead-letter topic: the original key, value and headers,
/// plus why it failed, where it came from and which consumer gave up on it.
public enum DeadLetterMessage {
    public static func make(
        from record: KafkaConsumedMessage, reason: String, processor: String, topic: String
    ) -> KafkaOutgoingMessage {
        var headers = record.headers
        headers.append(KafkaHeader(key: "dlq-reason", string: reason))
        headers.append(KafkaHeader(key: "dlq-processor", string: processor))
        headers.append(KafkaHeader(key: "dlq-source", string: "\(record.topic)/\(record.partition)/\(record.offset)"))
        return KafkaOutgoingMessage(topic: topic, key: record.key, value: record.value, headers: headers)
    }

    /// Sends `letter` until the broker acknowledges it (backoff up to 5 s), or the task is
    /// cancelled: the caller commits the record's offset afterwards, so the copy must exist.
    public static func deliver(_ letter: KafkaOutgoingMessage, with producer: KafkaProducer) async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            if case .success = await producer.send([letter]).first { return }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }
}

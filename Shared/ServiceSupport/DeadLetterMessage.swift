public import Kafka

/// A consumed record copied to a dead-letter topic: the original key, value and headers,
/// plus why it failed, where it came from and which consumer gave up on it.
public enum DeadLetterMessage {
    public static func make(
        from record: KafkaConsumedMessage, reason: String, processor: String, topic: String
    ) -> KafkaOutgoingMessage {
        var headers = record.headers
        var value = record.value
        var key = record.key
        let size = value.count + headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) } + (record.key?.count ?? 0)
        if size > maxCopyBytes {
            // A record near the broker's limit plus these headers would never be accepted, and
            // `deliver` would retry it for ever, holding its partition: the copy keeps the
            // headers cut short and says where the whole record is.
            headers = headers.map { KafkaHeader(key: $0.key, value: $0.value.map { Array($0.prefix(1_024)) }) }
            value = []
            key = key.map { Array($0.prefix(1_024)) }
            headers.append(KafkaHeader(key: "dlq-truncated", string: "the record is \(size) bytes; its value is left out and its headers cut to 1 KiB: read it at dlq-source"))
        }
        headers.append(KafkaHeader(key: "dlq-reason", string: reason))
        headers.append(KafkaHeader(key: "dlq-processor", string: processor))
        headers.append(KafkaHeader(key: "dlq-source", string: "\(record.topic)/\(record.partition)/\(record.offset)"))
        return KafkaOutgoingMessage(topic: topic, key: key, value: value, headers: headers)
    }

    /// The most a copy carries of its record: well under the producer's `message.max.bytes`
    /// (1,000,000 by default), leaving room for the dead-letter headers.
    public static let maxCopyBytes = 900_000

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

import EventSourcing
import EventStore
import Kafka
import ServiceSupport

/// Where the saga store copies an event it refuses: the dead-letter topic and the consumer
/// named in `dlq-processor`. The copy is written to `sagas.outbox` in the transaction that
/// refused the event (the command relay publishes it), so it cannot be lost between the two.
public struct SagaDeadLetterRoute: Sendable {
    public var topic: String
    public var processor: String

    public init(topic: String, processor: String) {
        self.topic = topic
        self.processor = processor
    }

    /// The record as it was consumed, or, for an event read from the event store to fill a
    /// gap, the event as the relay publishes it; with the reason and where it came from.
    func letter(for event: RecordedEvent, from record: KafkaConsumedMessage?, reason: String) -> KafkaOutgoingMessage {
        if let record { return DeadLetterMessage.make(from: record, reason: reason, processor: processor, topic: topic) }
        var letter = EventKafkaMapping.message(for: event, topic: topic)
        letter.headers += [
            KafkaHeader(key: "dlq-reason", string: reason), KafkaHeader(key: "dlq-processor", string: processor),
            KafkaHeader(key: "dlq-source", string: "event-store/\(event.streamID)@\(event.streamVersion)"),
        ]
        return letter
    }
}

public import EventSourcing

public import Kafka

/// A record of an event topic as consumers read it: the event, or why it is not one.
public enum DecodedEvent: Sendable {
    case event(RecordedEvent)
    case unreadable(String)

    public init(_ record: KafkaConsumedMessage) {
        do {
            self = .event(try EventKafkaMapping.event(from: record))
        } catch {
            self = .unreadable("\(error)")
        }
    }
}

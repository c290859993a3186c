public import EventSourcing
public import Foundation
public import Kafka
import EventStore

/// Events as the relay would publish them, for driving consumers without the write side.
public enum TestEvents {
    public static func record(
        stream: String, streamType: String, version: Int64, type: String, payload: String, position: Int64 = 0,
        correlation: String = "test", schemaVersion: Int = 1, recordedAt: Date = Date()
    ) -> RecordedEvent {
        RecordedEvent(
            eventID: UUID(), streamID: stream, streamType: streamType, streamVersion: version, globalPosition: position, type: type,
            schemaVersion: schemaVersion, recordedAt: recordedAt, correlationID: correlation, causationID: nil, metadata: [:],
            payload: Array(payload.utf8))
    }

    public static func message(_ event: RecordedEvent, topic: String) -> KafkaOutgoingMessage {
        EventKafkaMapping.message(for: event, topic: topic)
    }
}

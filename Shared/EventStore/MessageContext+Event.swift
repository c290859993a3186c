public import EventSourcing
public import ServiceSupport

extension MessageContext {
    /// The ids of an event being handled, for its log lines.
    public init(of event: RecordedEvent) {
        self.init(
            correlationID: event.correlationID, causationID: event.causationID, streamID: event.streamID,
            eventID: event.eventID.uuidString.lowercased())
    }
}

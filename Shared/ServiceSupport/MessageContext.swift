public import Logging
// Internal: the suite's own `ServiceContext` (the service host's) would clash with the name.
import ServiceContextModule

/// What the work in hand belongs to: the request, command or event being handled. Kept in the
/// task's `ServiceContext` (the one swift-distributed-tracing propagates), so every log line
/// written while handling it carries the ids as metadata (`MessageContext.metadataProvider`,
/// installed by `Observability.bootstrap` for text and JSON logs): `grep <correlation id>` over
/// the services' logs shows one business transaction's story.
public struct MessageContext: Sendable, Equatable {
    public var correlationID: String?
    public var causationID: String?
    public var commandID: String?
    public var streamID: String?
    public var eventID: String?

    public init(correlationID: String? = nil, causationID: String? = nil, commandID: String? = nil, streamID: String? = nil, eventID: String? = nil) {
        self.correlationID = correlationID
        self.causationID = causationID
        self.commandID = commandID
        self.streamID = streamID
        self.eventID = eventID
    }

    /// The context of the task running now (nil outside any request, command or event).
    public static var current: MessageContext? { ServiceContext.current?.message }

    /// The ids as log metadata (only those that are set).
    public var metadata: Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        if let correlationID { metadata["correlation_id"] = .string(correlationID) }
        if let causationID { metadata["causation_id"] = .string(causationID) }
        if let commandID { metadata["command_id"] = .string(commandID) }
        if let streamID { metadata["stream_id"] = .string(streamID) }
        if let eventID { metadata["event_id"] = .string(eventID) }
        return metadata
    }

    /// This context's ids over the current one's (an id left nil keeps the outer value).
    public func merged(over outer: MessageContext?) -> MessageContext {
        guard let outer else { return self }
        return MessageContext(
            correlationID: correlationID ?? outer.correlationID, causationID: causationID ?? outer.causationID,
            commandID: commandID ?? outer.commandID, streamID: streamID ?? outer.streamID, eventID: eventID ?? outer.eventID)
    }

    /// Runs `body` with this context (over the current one) as the current message context.
    public func run<T>(_ body: () async throws -> T) async rethrows -> T {
        var context = ServiceContext.current ?? .topLevel
        context.message = merged(over: context.message)
        return try await ServiceContext.withValue(context) { try await body() }
    }

    /// Adds the current message context's ids to every log line.
    public static let metadataProvider = Logger.MetadataProvider { MessageContext.current?.metadata ?? [:] }
}

private enum MessageContextKey: ServiceContextKey {
    typealias Value = MessageContext
    static var nameOverride: String? { "message-context" }
}

extension ServiceContext {
    /// The request, command or event being handled (see `MessageContext`).
    var message: MessageContext? {
        get { self[MessageContextKey.self] }
        set { self[MessageContextKey.self] = newValue }
    }
}

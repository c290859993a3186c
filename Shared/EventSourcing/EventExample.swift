/// One example payload of an event type at the schema version it is written with today: the
/// compatibility gate derives the type's JSON Schema from it (so every optional field is set
/// in it, or its type could not be seen), and the event catalog shows it.
public struct EventExample: Sendable {
    public var streamType: String
    public var type: String
    public var payload: any Encodable & Sendable

    public init(streamType: String, type: String, payload: any Encodable & Sendable) {
        self.streamType = streamType
        self.type = type
        self.payload = payload
    }

    public func schema() throws -> JSONValue { try PayloadSchema.of(payload, title: type) }
}

public import Foundation

/// An event as stored and sent: its type name, the schema version of its payload, and the
/// payload as JSON.
public struct EncodedEvent: Sendable, Hashable {
    public var type: String
    public var schemaVersion: Int
    public var payload: [UInt8]

    public init(type: String, schemaVersion: Int, payload: [UInt8]) {
        self.type = type
        self.schemaVersion = schemaVersion
        self.payload = payload
    }
}

/// Turns an old payload of `type` at `fromVersion` into the shape of `fromVersion + 1`.
public struct Upcaster: Sendable {
    public var type: String
    public var fromVersion: Int
    public var transform: @Sendable (JSONValue) throws -> JSONValue

    public init(type: String, fromVersion: Int, transform: @escaping @Sendable (JSONValue) throws -> JSONValue) {
        self.type = type
        self.fromVersion = fromVersion
        self.transform = transform
    }
}

/// How one event type of a stream's event enum is written and read.
public struct EventSchema<Event: Sendable>: Sendable {
    public let type: String
    public let version: Int
    let encode: @Sendable (Event) throws -> [UInt8]?
    let decode: @Sendable ([UInt8]) throws -> Event

    /// `extract` returns the payload when the event is of this type; `wrap` makes the event.
    public static func json<Payload: Codable & Sendable>(
        _ payload: Payload.Type, type: String, version: Int = 1,
        extract: @escaping @Sendable (Event) -> Payload?, wrap: @escaping @Sendable (Payload) -> Event
    ) -> Self {
        Self(
            type: type, version: version,
            encode: { event in
                guard let payload = extract(event) else { return nil }
                return Array(try EventJSON.encoder().encode(payload))
            },
            decode: { bytes in wrap(try EventJSON.decoder().decode(Payload.self, from: Data(bytes))) })
    }
}

/// Encodes a stream's events with their current schema version and decodes stored ones,
/// upcasting old versions step by step on read. Events are never rewritten in the store.
public struct EventCodec<Event: Sendable>: Sendable {
    private let schemas: [EventSchema<Event>]
    private let schemasByType: [String: EventSchema<Event>]
    private let upcasters: [String: [Int: Upcaster]]

    public init(_ schemas: [EventSchema<Event>], upcasters: [Upcaster] = []) {
        self.schemas = schemas
        self.schemasByType = Dictionary(schemas.map { ($0.type, $0) }, uniquingKeysWith: { first, _ in first })
        var table: [String: [Int: Upcaster]] = [:]
        for upcaster in upcasters { table[upcaster.type, default: [:]][upcaster.fromVersion] = upcaster }
        self.upcasters = table
    }

    public var eventTypes: [String] { schemas.map(\.type) }

    /// The schema version `type` is written with today (nil for a type this codec does not know).
    public func schemaVersion(of type: String) -> Int? { schemasByType[type]?.version }

    public func encode(_ event: Event) throws(EventCodingError) -> EncodedEvent {
        for schema in schemas {
            let bytes: [UInt8]?
            do { bytes = try schema.encode(event) } catch {
                throw EventCodingError(type: schema.type, version: schema.version, reason: "cannot encode: \(error)")
            }
            if let bytes { return EncodedEvent(type: schema.type, schemaVersion: schema.version, payload: bytes) }
        }
        throw EventCodingError(type: "\(Event.self)", version: 0, reason: "no schema registered for \(event)")
    }

    public func decode(_ encoded: EncodedEvent) throws(EventCodingError) -> Event {
        guard let schema = schemasByType[encoded.type] else {
            throw EventCodingError(type: encoded.type, version: encoded.schemaVersion, reason: "unknown event type")
        }
        guard encoded.schemaVersion >= 1 else {
            throw EventCodingError(type: encoded.type, version: encoded.schemaVersion, reason: "schema versions start at 1")
        }
        guard encoded.schemaVersion <= schema.version else {
            throw EventCodingError(
                type: encoded.type, version: encoded.schemaVersion,
                reason: "schema version is newer than this code knows (\(schema.version)); deploy the newer code")
        }
        var payload = encoded.payload
        if encoded.schemaVersion < schema.version {
            payload = try upcast(encoded, to: schema.version)
        }
        do {
            return try schema.decode(payload)
        } catch {
            throw EventCodingError(type: encoded.type, version: encoded.schemaVersion, reason: "cannot decode payload: \(error)")
        }
    }

    private func upcast(_ encoded: EncodedEvent, to target: Int) throws(EventCodingError) -> [UInt8] {
        do {
            var document = try JSONDecoder().decode(JSONValue.self, from: Data(encoded.payload))
            for version in encoded.schemaVersion..<target {
                guard let step = upcasters[encoded.type]?[version] else {
                    throw EventCodingError(type: encoded.type, version: version, reason: "no upcaster from version \(version)")
                }
                document = try step.transform(document)
            }
            return Array(try JSONEncoder().encode(document))
        } catch let error as EventCodingError {
            throw error
        } catch {
            throw EventCodingError(type: encoded.type, version: encoded.schemaVersion, reason: "upcasting failed: \(error)")
        }
    }
}

public struct EventCodingError: Error, Sendable, CustomStringConvertible {
    public var type: String
    public var version: Int
    public var reason: String

    public var description: String { "event \(type) v\(version): \(reason)" }
}

/// One JSON style for every payload: sorted keys (stable bytes), ISO-8601 dates.
public enum EventJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

import EventSourcing
import EventStore
import Foundation
import Hummingbird
import ServiceHTTP

/// `GET /streams/{streamId}/events` and `GET /streams/{streamId}/state` for every stream of
/// the suite (also as of a past time or version): events with personal data opened, or shown
/// as erased once its key was forgotten; state folded by the owning context's decider.
struct StreamRoutes: Sendable {
    let store: PostgresEventStore
    let vault: PersonalDataVault
    let states: [String: StreamStateReader]

    func register(on router: Router<BasicRequestContext>) {
        router.get("/streams/:streamId/events", use: events)
        router.get("/streams/:streamId/state", use: state)
    }

    @Sendable func events(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let streamID = try RequestJSON.streamParameter("streamId", of: context).description
        let from = try RequestJSON.queryInt64("from", of: request, minimum: 1) ?? 1
        let to = try RequestJSON.queryInt64("to", of: request, minimum: 1)
        let events = try await CommandOutcomes.storeCall { () throws(EventStoreError) in
            try await store.readStream(streamID, from: from, through: to)
        }
        if events.isEmpty, try await CommandOutcomes.storeCall({ () throws(EventStoreError) in try await store.version(of: streamID) }) == nil {
            throw ServiceError.notFound("stream", id: streamID)
        }
        let payloads = events.map { (try? JSONDecoder().decode(JSONValue.self, from: Data($0.payload))) ?? .null }
        let keys = try await CommandOutcomes.personalData { () async throws(PersonalDataError) in
            try await vault.keys(payloads.reduce(into: []) { $0.formUnion(PersonalDataCipher.keyIDs(in: $1)) })
        }
        let views = zip(events, payloads).map { EventView($0, data: PersonalDataCipher.reveal($1, keys: keys)) }
        return try CommandOutcomes.json(.ok, StreamEventsResponse(streamId: streamID, events: views))
    }

    @Sendable func state(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let name = try RequestJSON.streamParameter("streamId", of: context)
        let asOf = try RequestJSON.queryDate("asOf", of: request)
        let version = try RequestJSON.queryInt64("version", of: request, minimum: 0)
        if asOf != nil, version != nil {
            throw ServiceError.invalidField("asOf", reason: "give either asOf or version, not both")
        }
        guard let reader = states[name.category] else { throw ServiceError.notFound("stream", id: name.description) }
        let (state, reached) = try await CommandOutcomes.run { () async throws(CommandError) in try await reader.read(name, asOf, version) }
        guard reached > 0 || asOf != nil || version != nil else { throw ServiceError.notFound("stream", id: name.description) }
        return try CommandOutcomes.json(.ok, StateView(streamId: name.description, version: reached, asOf: asOf, state: state))
    }
}

struct StreamEventsResponse: Encodable {
    var streamId: String
    var events: [EventView]
}

/// An event as the API shows it: the envelope and the payload as JSON.
struct EventView: Encodable {
    var eventId: String
    var type: String
    var streamVersion: Int64
    var globalPosition: Int64
    var schemaVersion: Int
    var recordedAt: Date
    var correlationId: String
    var causationId: String?
    var data: JSONValue

    init(_ event: RecordedEvent, data: JSONValue) {
        eventId = event.eventID.uuidString.lowercased()
        type = event.type
        streamVersion = event.streamVersion
        globalPosition = event.globalPosition
        schemaVersion = event.schemaVersion
        recordedAt = event.recordedAt
        correlationId = event.correlationID
        causationId = event.causationID
        self.data = data
    }
}

struct StateView: Encodable {
    var streamId: String
    var version: Int64
    var asOf: Date?
    var state: JSONValue
}

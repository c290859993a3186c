public import EventSourcing
public import EventStore
public import Foundation
public import Logging

/// A context's command side: built once the command service has its event store, it
/// registers the context's command routes and answers its command channel.
public struct CommandSide: Sendable {
    public var make: @Sendable (CommandEnvironment) throws -> CommandPart

    public init(_ make: @escaping @Sendable (CommandEnvironment) throws -> CommandPart) {
        self.make = make
    }
}

/// What the command service gives a context: the shared store, key vault and state cache.
public struct CommandEnvironment: Sendable {
    public let store: PostgresEventStore
    public let vault: PersonalDataVault
    public let cache: StreamStateCache
    public let logger: Logger

    /// The vault defaults to the key table of the store's own database.
    public init(store: PostgresEventStore, vault: PersonalDataVault? = nil, cache: StreamStateCache = StreamStateCache()) {
        self.store = store
        self.vault = vault ?? PersonalDataVault(client: store.client, logger: store.logger)
        self.cache = cache
        self.logger = store.logger
    }
}

public struct CommandPart: Sendable {
    public var routes: @Sendable (ContextRouter) -> Void
    /// Reads one record of the context's command topic (`<context>.commands`) into a command
    /// to run; throwing means it can never run (dead-lettered with the error as the reason).
    public var channel: (@Sendable (_ value: [UInt8]) throws -> ChannelCommand)?
    /// How `GET /streams/{streamId}/state` folds each of the context's stream types.
    public var states: [String: StreamStateReader]

    public init(
        routes: @escaping @Sendable (ContextRouter) -> Void, channel: (@Sendable ([UInt8]) throws -> ChannelCommand)? = nil,
        states: [String: StreamStateReader] = [:]
    ) {
        self.routes = routes
        self.channel = channel
        self.states = states
    }
}

/// A command from a command topic, ready to run with the same handlers (and idempotency) as
/// HTTP.
public struct ChannelCommand: Sendable {
    public var id: String
    public var type: String
    /// The business transaction the command belongs to (the one its events will carry), when
    /// the message names it: the command's log lines carry it, so that one `grep` finds them
    /// with the request's and the saga's. The record's `correlation-id` header is used otherwise.
    public var correlationID: String?
    public var run: @Sendable () async throws(CommandError) -> Void

    public init(id: String, type: String, correlationID: String? = nil, run: @escaping @Sendable () async throws(CommandError) -> Void) {
        self.id = id
        self.type = type
        self.correlationID = correlationID
        self.run = run
    }
}

/// A stream's state as JSON, now or as of a time or version (temporal queries).
public struct StreamStateReader: Sendable {
    public var read: @Sendable (_ stream: StreamName, _ asOf: Date?, _ version: Int64?) async throws(CommandError) -> (state: JSONValue, version: Int64)

    /// Folds with `handler(id)`'s decider: its snapshot and cache for the current state.
    public init<Command, State: Codable & Sendable, Event>(_ handler: @escaping @Sendable (String) -> CommandHandler<Command, State, Event>) {
        read = { stream, asOf, version throws(CommandError) in
            let handler = handler(stream.id)
            let (state, reached) =
                if asOf == nil, version == nil { try await handler.load(stream) } else { try await handler.state(of: stream, asOf: asOf, version: version) }
            do {
                return (try JSONDecoder().decode(JSONValue.self, from: try EventJSON.encoder().encode(state)), reached)
            } catch {
                throw .store(.database(error, stream: stream.description))
            }
        }
    }
}

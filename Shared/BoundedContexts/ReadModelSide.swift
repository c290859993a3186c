public import EventSourcing
public import Logging
public import PostgresNIO
public import Projections

/// A context's read models (projection and migrations each) and the query routes the
/// projection service serves from them. Every context's projections run in the suite's one
/// projection processor (one consumer group), each with its own checkpoint-safe position and
/// dead letters.
public struct ReadModelSide: Sendable {
    public var readModels: [ReadModel]
    public var routes: @Sendable (ContextRouter, QueryEnvironment) -> Void
    /// What this context adds to views other contexts serve (see `ViewExtension`).
    public var extensions: [ViewExtension]

    public init(
        readModels: [ReadModel], extensions: [ViewExtension] = [], routes: @escaping @Sendable (ContextRouter, QueryEnvironment) -> Void = { _, _ in }
    ) {
        self.readModels = readModels
        self.extensions = extensions
        self.routes = routes
    }
}

/// A context's part of a view another context serves: a booking view shows what a billing
/// context knows of the booking, under `extensions.<context>`, without either context's
/// code naming the other. The serving context asks `QueryEnvironment.extensions(of:id:)`.
public struct ViewExtension: Sendable {
    /// The view's name, as its owner documents it ("booking").
    public var view: String
    /// The fields to add for the view's id, from this context's own read models; nil: none.
    public var load: @Sendable (_ client: PostgresClient, _ logger: Logger, _ id: String) async throws -> JSONValue?

    public init(view: String, load: @escaping @Sendable (PostgresClient, Logger, String) async throws -> JSONValue?) {
        self.view = view
        self.load = load
    }
}

/// What query routes read from.
public struct QueryEnvironment: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// (context, extension) of every context's extensions.
    let extensions: [(context: String, ViewExtension)]

    /// What the other contexts add to `view` for `id`, by context name.
    public func extensions(of view: String, id: String) async -> [String: JSONValue] {
        var fields: [String: JSONValue] = [:]
        for (context, extensionOfView) in extensions where extensionOfView.view == view {
            // One context's trouble (its table not migrated yet, a failed read) must not fail
            // the view another context serves: its part says it is unavailable.
            do {
                if let value = try await extensionOfView.load(client, logger, id) { fields[context] = value }
            } catch {
                logger.warning("view extension unavailable", metadata: ["view": "\(view)", "context": "\(context)", "error": "\(String(reflecting: error))"])
                fields[context] = .object(["unavailable": .bool(true)])
            }
        }
        return fields
    }
}

/// A view with the other contexts' extensions beside its own fields (`extensions`, omitted
/// when there are none).
public struct ExtendedView<Base: Encodable>: Encodable {
    public var base: Base
    public var extensions: [String: JSONValue]

    public init(_ base: Base, extensions: [String: JSONValue]) {
        self.base = base
        self.extensions = extensions
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        try base.encode(to: encoder)
        guard !extensions.isEmpty else { return }
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(extensions, forKey: Key(stringValue: "extensions"))
    }
}

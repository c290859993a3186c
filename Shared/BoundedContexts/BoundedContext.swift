public import EventSourcing
public import InvariantChecks
public import Projections
public import ServiceSupport

/// One bounded context, declared in one value: the streams it owns and where they are
/// published, what its command side serves and executes, its read models and their queries,
/// its sagas, its invariants, its part of each service's OpenAPI document and any grants it
/// needs. A `Suite` lists its contexts; the three services, kafka-dev, suite-check and
/// `suitectl topology` assemble themselves from that list, so adding a context adds a value
/// and one line, and edits no other context.
public struct BoundedContext: Sendable {
    /// Short and stable, lower case ("billing"): prefixes its command topic, names its
    /// OpenAPI parts and its events' CloudEvents source.
    public var name: String
    public var streams: [StreamType]
    public var commands: CommandSide?
    public var readModels: ReadModelSide?
    public var sagas: [SagaSide]
    /// What must hold after a run (suite-check), beside the library's own.
    public var invariants: @Sendable (InvariantEnvironment) -> [any Invariant]
    /// The context's operations in each service's OpenAPI document (see `OpenAPIDocument`).
    public var openAPI: [ServiceKind: [UInt8]]
    /// Extra SQL run after the migrations, per service role (most contexts need none: the
    /// library's schemas already grant what its runtimes do).
    public var grants: @Sendable (ServiceRoles) -> [String]

    public init(
        name: String, streams: [StreamType] = [], commands: CommandSide? = nil, readModels: ReadModelSide? = nil, sagas: [SagaSide] = [],
        invariants: @escaping @Sendable (InvariantEnvironment) -> [any Invariant] = { _ in [] }, openAPI: [ServiceKind: [UInt8]] = [:],
        grants: @escaping @Sendable (ServiceRoles) -> [String] = { _ in [] }
    ) {
        self.name = name
        self.streams = streams
        self.commands = commands
        self.readModels = readModels
        self.sagas = sagas
        self.invariants = invariants
        self.openAPI = openAPI
        self.grants = grants
    }
}

/// The three services a suite runs.
public enum ServiceKind: String, Sendable, CaseIterable, Codable, Comparable {
    case commandService = "command-service"
    case projectionService = "projection-service"
    case sagaOrchestrator = "saga-orchestrator"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var defaultPort: Int {
        switch self {
        case .commandService: 8081
        case .projectionService: 8082
        case .sagaOrchestrator: 8083
        }
    }
}

/// A stream type a context owns: its category (the stream id's prefix), the topic its events
/// are published to, its codec's event types with their schema versions, one example payload
/// per type (the schema gate and the event catalog read them) and its snapshot policy.
public struct StreamType: Sendable {
    public var category: String
    /// nil: `<context>.<category>.events`.
    public var topic: String?
    public var eventTypes: [String]
    public var schemaVersions: [String: Int]
    public var examples: [EventExample]
    /// A snapshot every this many events (nil: none): the context's command handler applies
    /// it; the declaration states it so that the topology shows it.
    public var snapshotEvery: Int64?

    public init<Event>(category: String, topic: String? = nil, codec: EventCodec<Event>, examples: [EventExample] = [], snapshotEvery: Int64? = nil) {
        self.category = category
        self.topic = topic
        self.eventTypes = codec.eventTypes
        self.schemaVersions = Dictionary(uniqueKeysWithValues: codec.eventTypes.map { ($0, codec.schemaVersion(of: $0) ?? 1) })
        self.examples = examples
        self.snapshotEvery = snapshotEvery
    }
}

/// What a context's invariants may read besides PostgreSQL (`CheckContext`).
public struct InvariantEnvironment: Sendable {
    public var readModels: [ReadModel]

    public init(readModels: [ReadModel]) {
        self.readModels = readModels
    }
}

public import ServiceSupport

/// A deployment: a name and its bounded contexts. Every infrastructure name is derived here,
/// once, from the declarations (`topology`), so the services, kafka-dev, the compose topic job
/// and the checks agree by construction:
///
/// | what | name |
/// | --- | --- |
/// | a stream type's events | its declared topic, or `<context>.<category>.events` |
/// | a context's commands | `<context>.commands` |
/// | dead letters (every consumer) | `<suite>.deadletter` |
/// | the projection processor's group | `<suite>-read-models` |
/// | the command consumer's group | `command-service` |
/// | a saga's group | its declared group, or `saga-orchestrator-<saga>` |
/// | a service's database role | `<suite>_<service>` (`_` for `-`) |
/// | the default database | `<suite>` |
public struct Suite: Sendable {
    public var name: String
    public var contexts: [BoundedContext]
    /// Partitions of every topic that kafka-dev and the compose job create.
    public var partitions: Int

    public init(name: String, contexts: [BoundedContext], partitions: Int = 12) {
        self.name = name
        self.contexts = contexts
        self.partitions = partitions
    }

    public var deadLetterTopic: String { "\(name).deadletter" }
    public var readModelGroup: String { "\(name)-read-models" }
    public static let commandGroup = "command-service"

    public func commandTopic(of context: String) -> String { "\(context).commands" }

    public func topic(of stream: StreamType, in context: BoundedContext) -> String {
        stream.topic ?? "\(context.name).\(stream.category).events"
    }

    /// The topic of a stream type by its category; nil for one no context declares.
    public func topic(forStreamType category: String) -> String? {
        for context in contexts {
            if let stream = context.streams.first(where: { $0.category == category }) { return topic(of: stream, in: context) }
        }
        return nil
    }

    /// Where the event store's outbox sends a stream type's events; a stream type no context
    /// declares (a test's own) goes to `<suite>.<category>.events`.
    public var eventTopic: @Sendable (String) -> String {
        let suite = self
        return { category in suite.topic(forStreamType: category) ?? "\(suite.name).\(category).events" }
    }

    /// The CloudEvents source of a stream type's events: `<context>/<category>`.
    public var eventSource: @Sendable (String) -> String {
        let owners = Dictionary(contexts.flatMap { context in context.streams.map { ($0.category, context.name) } }, uniquingKeysWith: { first, _ in first })
        let suite = name
        return { category in "\(owners[category] ?? suite)/\(category)" }
    }

    /// Every event topic, as declared.
    public var eventTopics: [String] {
        contexts.flatMap { context in context.streams.map { topic(of: $0, in: context) } }
    }

    public var commandTopics: [String] {
        contexts.filter { $0.commands != nil }.map { commandTopic(of: $0.name) }
    }

    public var roles: ServiceRoles {
        ServiceRoles(
            commandService: "\(name)_command_service", projectionService: "\(name)_projection_service", sagaOrchestrator: "\(name)_saga_orchestrator")
    }

    /// The saga's consumer group.
    public func group(of saga: SagaSide) -> String { saga.group ?? "saga-orchestrator-\(saga.name)" }

    /// The topics a saga subscribes to: those of the stream types it reacts to.
    public func topics(of saga: SagaSide) -> [String] {
        var seen: Set<String> = []
        return saga.reactsTo.compactMap { topic(forStreamType: $0) }.filter { seen.insert($0).inserted }
    }
}

import Foundation

/// Every name a suite gives its infrastructure, as `suitectl topology --json` prints it:
/// kafka-dev (`--topology`), the compose topic job (`deploy/topics`) and
/// `scripts/check-topology` follow this, not the Swift source.
public struct SuiteTopology: Codable, Sendable, Equatable {
    public struct Topic: Codable, Sendable, Equatable {
        public var name: String
        /// events, commands or dead-letters.
        public var kind: String
        /// The context that writes it (the suite's name for the dead-letter topic).
        public var owner: String
        public var partitions: Int
    }

    public struct Stream: Codable, Sendable, Equatable {
        public var category: String
        public var context: String
        public var topic: String
        public var eventTypes: [String: Int]
        public var snapshotEvery: Int64?
    }

    /// A saga or process manager and where the orchestrator serves it.
    public struct Saga: Codable, Sendable, Equatable {
        public var name: String
        public var context: String
        public var group: String
        /// `GET <path>/{id}`, `GET <path>`, `POST /admin<path>/{id}/retry`.
        public var path: String
        public var commandTypes: [String]
    }

    public struct ConsumerGroup: Codable, Sendable, Equatable {
        public var name: String
        public var service: String
        public var topics: [String]
    }

    public var suite: String
    public var contexts: [String]
    public var topics: [Topic]
    public var streams: [Stream]
    public var consumerGroups: [ConsumerGroup]
    public var sagas: [Saga]
    /// Service -> PostgreSQL role.
    public var roles: [String: String]
    public var database: String

    public init(_ suite: Suite) {
        self.suite = suite.name
        contexts = suite.contexts.map(\.name)
        var topics: [Topic] = []
        var streams: [Stream] = []
        for context in suite.contexts {
            for stream in context.streams {
                let topic = suite.topic(of: stream, in: context)
                if !topics.contains(where: { $0.name == topic }) {
                    topics.append(Topic(name: topic, kind: "events", owner: context.name, partitions: suite.partitions))
                }
                streams.append(
                    Stream(category: stream.category, context: context.name, topic: topic, eventTypes: stream.schemaVersions, snapshotEvery: stream.snapshotEvery))
            }
        }
        for context in suite.contexts where context.commands != nil {
            topics.append(Topic(name: suite.commandTopic(of: context.name), kind: "commands", owner: context.name, partitions: suite.partitions))
        }
        topics.append(Topic(name: suite.deadLetterTopic, kind: "dead-letters", owner: suite.name, partitions: suite.partitions))
        self.topics = topics
        self.streams = streams
        var groups: [ConsumerGroup] = []
        if !suite.commandTopics.isEmpty {
            groups.append(ConsumerGroup(name: Suite.commandGroup, service: ServiceKind.commandService.rawValue, topics: suite.commandTopics))
        }
        if suite.contexts.contains(where: { $0.readModels != nil }) {
            groups.append(ConsumerGroup(name: suite.readModelGroup, service: ServiceKind.projectionService.rawValue, topics: suite.eventTopics))
        }
        for saga in suite.contexts.flatMap(\.sagas) {
            groups.append(ConsumerGroup(name: suite.group(of: saga), service: ServiceKind.sagaOrchestrator.rawValue, topics: suite.topics(of: saga)))
        }
        consumerGroups = groups
        sagas = suite.contexts.flatMap { context in
            context.sagas.map { Saga(name: $0.name, context: context.name, group: suite.group(of: $0), path: $0.path, commandTypes: $0.commandTypes) }
        }
        let roles = suite.roles
        self.roles = [
            ServiceKind.commandService.rawValue: roles.commandService, ServiceKind.projectionService.rawValue: roles.projectionService,
            ServiceKind.sagaOrchestrator.rawValue: roles.sagaOrchestrator,
        ]
        database = suite.name
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

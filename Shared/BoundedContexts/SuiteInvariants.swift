public import EventStore
public import InvariantChecks

/// What suite-check checks after a run, in sequence: the library's own invariants (outbox
/// drained, every event on Kafka, read models equal to a rebuild, sagas settled), each
/// context's, and last the dead letters.
public enum SuiteInvariants {
    public static func all(_ suite: Suite, store: PostgresEventStore, bootstrapServers: String?, allowedParked: Int64) -> [any Invariant] {
        var invariants: [any Invariant] = [OutboxDrained()]
        if let bootstrapServers {
            invariants.append(EventsOnKafka(bootstrapServers: bootstrapServers, topics: suite.eventTopics, topicForStreamType: suite.eventTopic))
        }
        let readModels = suite.contexts.flatMap { $0.readModels?.readModels ?? [] }
        invariants += [ReadModelsMatchRebuild(readModels: readModels, store: store), SagasSettled()]
        let environment = InvariantEnvironment(readModels: readModels)
        for context in suite.contexts { invariants += context.invariants(environment) }
        invariants.append(DeadLettersResolved(allowed: allowedParked))
        return invariants
    }
}

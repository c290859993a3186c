import EventStore
import Foundation
import Kafka
import Projections
import ServiceHTTP
import ServiceSupport

/// The projections as the projection service runs them: every context's read models in one
/// processor (one consumer group) over the suite's event topics, and the dead-letter store for
/// operators.
struct ProjectionRuntime: Sendable {
    let processorName: String
    let topics: [String]
    let processor: ProjectionProcessor
    let deadLetters: DeadLetterStore
    let eventStore: PostgresEventStore
    let context: ServiceContext

    init(suite: Suite, context: ServiceContext, faults: FaultSwitch) throws(ConfigurationError) {
        processorName = suite.readModelGroup
        topics = suite.eventTopics
        let plain = suite.contexts.flatMap { $0.readModels?.readModels ?? [] }.map(\.projection)
        let projections: [any Projection] = plain.map { projection -> any Projection in FaultInjectingProjection(projection, faults: faults) }
        var configuration = ProjectionProcessor.Configuration(
            name: processorName, topics: topics, instanceID: context.configuration.instanceID,
            bootstrapServers: context.configuration.kafkaBrokers, deadLetterTopic: suite.deadLetterTopic)
        configuration.retry = RetryPolicy(attempts: try integerSetting("PROJECTION_RETRY_ATTEMPTS", default: 3, range: 1...100))
        processor = ProjectionProcessor(
            configuration: configuration, projections: projections, client: context.postgres, producer: context.kafkaProducer,
            logger: context.logger)
        deadLetters = DeadLetterStore(client: context.postgres, logger: context.logger, projections: projections)
        eventStore = PostgresEventStore(client: context.postgres, logger: context.logger, topicForStreamType: suite.eventTopic)
        self.context = context
    }
}

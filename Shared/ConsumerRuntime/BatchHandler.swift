public import Instrumentation
public import Kafka

/// What a consumer of the event log writes: the work for one partition's batch. The runtime
/// (`ConsumerRuntime`) does the rest: polling, decoding once, a worker per partition, retries,
/// commits, lag, rejoining and draining.
public protocol BatchHandler: Sendable {
    /// A record as the handler reads it (an event, a command, or the reason it is unreadable).
    associatedtype Item: Sendable

    /// Where progress is kept.
    var commits: CommitMode { get }

    /// Turns a record into an item, once, on the partition's worker. Never throws: an unreadable
    /// record becomes an item that says so, for the handler to park.
    func decode(_ record: KafkaConsumedMessage) -> Item

    /// Where each newly assigned partition starts (`.kafkaOffsets` handlers return nothing: the
    /// group's committed offset is used). Retried with backoff until it succeeds.
    func startPositions(for partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64]

    /// Handles a partition's records, by offset. Throwing retries the same batch after a
    /// backoff (never skipping it); a handler parks what can never succeed itself.
    func handle(_ batch: [Delivery<Item>], of partition: KafkaTopicPartition) async throws -> BatchOutcome
}

extension BatchHandler {
    public func startPositions(for partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] { [:] }
}

/// A record and what `decode` made of it.
public struct Delivery<Item: Sendable>: Sendable {
    public let record: KafkaConsumedMessage
    public let item: Item
    /// The context of the record's own span (a child of the trace its headers carry): what the
    /// handler runs the record's work in, and stores with what the record causes.
    public let trace: InstrumentationContext

    public init(record: KafkaConsumedMessage, item: Item, trace: InstrumentationContext = .topLevel) {
        self.record = record
        self.item = item
        self.trace = trace
    }
}

public enum CommitMode: Sendable {
    /// The handler writes its own checkpoint with its effects (and fences stale writers); the
    /// runtime only moves on.
    case handlerCheckpoint
    /// The runtime commits the group's Kafka offsets after each handled batch: redelivery after a
    /// crash is possible, so the handler must be idempotent.
    case kafkaOffsets
}

public enum BatchOutcome: Sendable {
    /// Done; read on after the batch.
    case handled
    /// The handler's checkpoint is elsewhere (another member moved it, or this one is a zombie):
    /// nothing was written; read the partition again from `offset`.
    case fenced(restartAt: Int64)
}

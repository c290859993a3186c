public import Kafka
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// How far the command service's consumer group has got on the command topics, watched from
/// the orchestrator: the group's committed offsets, read every `interval` for the partitions the
/// deadline scheduler asked about, each change remembered with when it was seen. The group
/// commits a partition's offset after every command of the batch is done, so a command at offset
/// `o` has been executed once the committed offset is past `o`.
///
/// This is what lets a saga deadline mean silence instead of queueing: a step's command still in
/// the outbox or ahead of the group's position is queued, and its deadline counts from when it
/// was consumed (to within `interval`), not from when it was sent. The client reads offsets
/// only; it never joins the group.
public final class CommandConsumption: Service, Sendable {
    /// A command's progress, as far as this watcher knows.
    public enum Progress: Sendable, Equatable {
        /// Not consumed yet (or its partition is not watched yet).
        case queued
        /// Executed, seen `ago` before now.
        case consumed(ago: Duration)
        /// Executed before this watcher saw the partition: when is unknown.
        case consumedBeforeWatching
    }

    struct Mark {
        var committed: Int64
        /// Nil: the partition's first reading (the offset was reached before it).
        var seenAt: ContinuousClock.Instant?
    }

    private let group: String
    private let topics: [String]
    private let bootstrapServers: String
    private let interval: Duration
    private let memory: Duration
    private let logger: Logger
    private let history = Mutex<[KafkaTopicPartition: [Mark]]>([:])
    private let watched = Mutex<Set<KafkaTopicPartition>>([])
    private let failures = Counter(label: "saga_command_consumption_read_failures_total")

    /// `group`: the consumer group that executes the commands (`Suite.commandGroup`); every
    /// partition of `topics` is watched from the start, so a command's consumption is seen with
    /// its time even when no deadline asked about its partition before.
    public init(
        group: String, topics: [String], bootstrapServers: String, interval: Duration = .milliseconds(200), memory: Duration = .seconds(900),
        logger: Logger
    ) {
        self.group = group
        self.topics = topics
        self.bootstrapServers = bootstrapServers
        self.interval = interval
        self.memory = memory
        self.logger = logger
    }

    /// The progress of the command at `offset` of `partition`; the partition is watched from now
    /// on if it was not.
    public func progress(of partition: KafkaTopicPartition, offset: Int64, now: ContinuousClock.Instant = .now) -> Progress {
        watched.withLock { _ = $0.insert(partition) }
        return history.withLock { history in
            guard let reached = history[partition]?.first(where: { $0.committed > offset }) else { return .queued }
            // Reached by the oldest remembered reading: executed before it, at an unknown time.
            guard let seenAt = reached.seenAt else { return .consumedBeforeWatching }
            return .consumed(ago: now - seenAt)
        }
    }

    /// Records a reading of the group's committed offsets (the watcher's loop; tests call it).
    func record(_ committed: [KafkaTopicPartition: Int64?], at instant: ContinuousClock.Instant = .now) {
        history.withLock { history in
            for (partition, committedOffset) in committed {
                // Nothing committed yet: nothing consumed.
                let offset = committedOffset ?? 0
                var marks = history[partition] ?? []
                if marks.isEmpty {
                    marks.append(Mark(committed: offset, seenAt: nil))
                } else if let last = marks.last, offset > last.committed {
                    marks.append(Mark(committed: offset, seenAt: instant))
                }
                // Forget readings older than `memory`; the newest of them stays as the floor, with
                // its time: a command below it was consumed at or before then, so a deadline
                // counted from then errs towards waiting, never fires early.
                let old = marks.prefix { mark in mark.seenAt.map { instant - $0 >= memory } ?? true }.count
                if old > 1 { marks.removeFirst(old - 1) }
                history[partition] = marks
            }
        }
    }

    public func run() async throws {
        let configuration = KafkaConfiguration.consumer(bootstrapServers: bootstrapServers, groupID: group)
        let consumer = try KafkaConsumer(configuration: configuration, topics: [], logger: logger)
        await cancelWhenGracefulShutdown {
            var lastDiscovery: ContinuousClock.Instant?
            while !Task.isCancelled {
                if !self.topics.isEmpty, lastDiscovery.map({ .now - $0 > .seconds(30) }) ?? true, let metadata = try? await consumer.metadata() {
                    // Partitions added to a topic later are found by the next look.
                    let found = self.topics.flatMap { topic in (0..<(metadata.partitionCounts[topic] ?? 0)).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) } }
                    self.watched.withLock { $0.formUnion(found) }
                    lastDiscovery = .now
                }
                let partitions = self.watched.withLock { Array($0) }
                if !partitions.isEmpty {
                    do {
                        self.record(try await consumer.committed(partitions))
                    } catch {
                        self.failures.increment()
                        self.logger.warning(
                            "cannot read the command group's committed offsets; deadlines wait", metadata: ["group": "\(self.group)", "error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: self.interval)
            }
        }
        await consumer.close()
    }
}

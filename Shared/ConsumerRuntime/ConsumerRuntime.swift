import Kafka
public import Logging
public import ServiceLifecycle
import Synchronization

/// One consumer-group member for any `BatchHandler`: the loop every consumer of the event log
/// shares. It polls large batches, routes each partition's records to that partition's worker
/// (no barrier per poll: partitions progress independently, and a partition whose worker falls
/// behind is paused, not the poll), and lets the worker decode, handle, retry and commit. Where
/// a partition starts comes from the handler (its checkpoint) or the group's offsets. It also
/// rejoins with a fresh member after the assignment was lost, stops on a vanished position
/// (`auto.offset.reset=error`) instead of skipping, and drains on shutdown: the batches in
/// hand finish, nothing new starts.
public struct ConsumerRuntime<Handler: BatchHandler>: Service {
    public struct Configuration: Sendable {
        public var groupID: String
        public var topics: [String]
        public var instanceID: String
        public var bootstrapServers: String
        public var kafkaOverrides: [String: String] = [:]
        /// Records per poll, and the most a partition's batch holds.
        public var maxBatch = 5_000
        public var pollTimeout: Duration = .milliseconds(100)
        /// A partition with more records than this waiting for its worker is paused until the
        /// worker is down to half.
        public var maxQueuedPerPartition = 20_000
        public var retryInitialDelay: Duration = .milliseconds(100)
        public var retryMaxDelay: Duration = .seconds(5)
        /// How long a revoked partition's or a stopping member's batch in hand may take.
        public var drainTimeout: Duration = .seconds(15)

        public init(groupID: String, topics: [String], instanceID: String, bootstrapServers: String) {
            self.groupID = groupID
            self.topics = topics
            self.instanceID = instanceID
            self.bootstrapServers = bootstrapServers
        }
    }

    public let configuration: Configuration
    public let handler: Handler
    public let status: ConsumerStatus
    let logger: Logger

    public init(configuration: Configuration, handler: Handler, logger: Logger, status: ConsumerStatus = ConsumerStatus()) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
        self.status = status
    }

    public func run() async throws {
        let workers = WorkerSet<Handler>()
        let first = try makeConsumer(workers: workers)
        status.setState("running")
        let last = await cancelWhenGracefulShutdown { await consume(from: first, workers: workers) }
        status.setState("stopped")
        await workers.stopAll(within: configuration.drainTimeout)
        await (last ?? first).close()
        status.detach()
    }

    /// The poll loop; returns the consumer in use when it stops.
    private func consume(from initial: KafkaConsumer, workers: WorkerSet<Handler>) async -> KafkaConsumer? {
        var consumer = initial
        var paused: Set<KafkaTopicPartition> = []
        var rejoining = false
        while !Task.isCancelled {
            do {
                if rejoining || status.takeLostAssignment() {
                    // The session expired (this process was paused or cut off): others own our
                    // partitions now, and a batch we had in flight is fenced or redelivered.
                    // Start over as a fresh member, so nothing of the old member's state survives;
                    // until a new member exists, every round tries again.
                    rejoining = true
                    logger.warning("assignment lost; rejoining the group with a new consumer")
                    await workers.stopAll(within: .zero)
                    await consumer.close()
                    paused = []
                    consumer = try makeConsumer(workers: workers)
                    rejoining = false
                }
                let records = try await consumer.poll(maxMessages: configuration.maxBatch, timeout: configuration.pollTimeout)
                var byPartition: [KafkaTopicPartition: [KafkaConsumedMessage]] = [:]
                for record in records { byPartition[record.topicPartition, default: []].append(record) }
                for (partition, batch) in byPartition { workers.enqueue(batch, for: partition) }
                try balance(consumer, workers: workers, paused: &paused)
            } catch let error as KafkaError where error.code == .offsetOutOfRange {
                // A position fell behind the log start: never skip; stop and report.
                status.setState("stalled: \(error)")
                logger.critical("consumer position is behind the Kafka log start", metadata: ["group": "\(configuration.groupID)", "error": "\(error)"])
                try? await gracefulShutdown()
                return consumer
            } catch is CancellationError {
                return consumer
            } catch {
                logger.error("consumer poll failed; retrying", metadata: ["group": "\(configuration.groupID)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        return consumer
    }

    /// Pauses partitions whose workers are behind and resumes them when they caught up.
    private func balance(_ consumer: KafkaConsumer, workers: WorkerSet<Handler>, paused: inout Set<KafkaTopicPartition>) throws {
        let queued = workers.queuedCounts()
        let behind = queued.filter { $0.value > configuration.maxQueuedPerPartition && !paused.contains($0.key) }.map(\.key)
        let caughtUp = paused.filter { (queued[$0] ?? 0) <= configuration.maxQueuedPerPartition / 2 }
        if !behind.isEmpty {
            try consumer.pause(behind)
            paused.formUnion(behind)
        }
        if !caughtUp.isEmpty {
            // A partition no longer assigned is resumed (or dropped) by the rebalance itself.
            try? consumer.resume(Array(caughtUp))
            paused.subtract(caughtUp)
        }
    }

    private func makeConsumer(workers: WorkerSet<Handler>) throws -> KafkaConsumer {
        var overrides = configuration.kafkaOverrides
        overrides["client.id"] = configuration.instanceID
        let box = ConsumerBox()
        let consumer = try KafkaConsumer(
            configuration: .consumer(bootstrapServers: configuration.bootstrapServers, groupID: configuration.groupID, overrides: overrides),
            topics: configuration.topics, rebalance: rebalanceHandler(workers: workers, consumer: box), logger: logger)
        box.consumer.withLock { $0 = consumer }
        status.attach(consumer)
        return consumer
    }

    /// On assignment: ask the handler where each partition starts and start its worker. On
    /// revocation: let the partition's batch in hand finish before it is released.
    private func rebalanceHandler(workers: WorkerSet<Handler>, consumer box: ConsumerBox) -> KafkaRebalanceHandler {
        let handler = self.handler
        let logger = self.logger
        let status = self.status
        let settings = ConsumerRuntimeSettings(
            maxBatch: configuration.maxBatch, retryInitialDelay: configuration.retryInitialDelay, retryMaxDelay: configuration.retryMaxDelay)
        let metrics = ConsumerMetrics(group: configuration.groupID)
        let drain = configuration.drainTimeout
        return KafkaRebalanceHandler(
            partitionsAssigned: { partitions in
                var delay = Duration.milliseconds(100)
                var positions: [KafkaTopicPartition: Int64] = [:]
                while true {
                    do {
                        positions = try await handler.startPositions(for: partitions)
                        break
                    } catch {
                        logger.error("cannot load start positions; retrying", metadata: ["error": "\(error)"])
                        try? await Task.sleep(for: delay)
                        delay = min(delay * 2, .seconds(5))
                    }
                }
                status.assigned(partitions, checkpoints: positions)
                if let consumer = box.consumer.withLock({ $0 }) {
                    for partition in partitions {
                        await workers.start(partition, at: positions[partition], replacingWithin: drain) { worker in
                            await worker.run(handler: handler, consumer: consumer, settings: settings, metrics: metrics, status: status, logger: logger)
                        }
                    }
                }
                let fallback: KafkaStartPosition = handler.commits == .kafkaOffsets ? .committed : .beginning
                return Dictionary(uniqueKeysWithValues: partitions.map { ($0, positions[$0].map { .offset($0) } ?? fallback) })
            },
            partitionsRevoked: { partitions, lost in
                status.revoked(partitions, lost: lost)
                await workers.stop(partitions, within: lost ? .zero : drain)
            })
    }
}

/// The consumer a rebalance handler belongs to (the handler is made before the consumer).
final class ConsumerBox: Sendable {
    let consumer = Mutex<KafkaConsumer?>(nil)
}

/// The running partition workers of one member.
final class WorkerSet<Handler: BatchHandler>: Sendable {
    private let workers = Mutex<[KafkaTopicPartition: PartitionWorker<Handler>]>([:])

    /// Starts the partition's worker; one still running for it (an assignment without the
    /// revocation before it) is stopped first, so that a partition never has two.
    func start(
        _ partition: KafkaTopicPartition, at offset: Int64?, replacingWithin timeout: Duration,
        _ body: @escaping @Sendable (PartitionWorker<Handler>) async -> Void
    ) async {
        let worker = PartitionWorker<Handler>(partition: partition, startingAt: offset)
        let previous = workers.withLock { workers in
            defer { workers[partition] = worker }
            return workers[partition]
        }
        await previous?.stop(within: timeout)
        worker.start(body)
    }

    func enqueue(_ records: [KafkaConsumedMessage], for partition: KafkaTopicPartition) {
        workers.withLock { $0[partition] }?.queue.append(records)
    }

    func queuedCounts() -> [KafkaTopicPartition: Int] {
        workers.withLock { $0.mapValues(\.queue.count) }
    }

    func stop(_ partitions: [KafkaTopicPartition], within timeout: Duration) async {
        let stopping = workers.withLock { workers in partitions.compactMap { workers.removeValue(forKey: $0) } }
        await withTaskGroup(of: Void.self) { group in
            for worker in stopping { group.addTask { await worker.stop(within: timeout) } }
        }
    }

    func stopAll(within timeout: Duration) async {
        await stop(workers.withLock { Array($0.keys) }, within: timeout)
    }
}

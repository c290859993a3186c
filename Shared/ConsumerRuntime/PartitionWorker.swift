import Kafka
import Logging
import Metrics
import Synchronization

/// Works through one partition's records, batch after batch, on its own task: a slow partition
/// never holds the others back. Retries a failing batch with backoff (never skipping it),
/// commits offsets when the handler asks the runtime to, and follows a fence by seeking back.
final class PartitionWorker<Handler: BatchHandler>: Sendable {
    let partition: KafkaTopicPartition
    let queue = RecordQueue()
    private let task = Mutex<Task<Void, Never>?>(nil)
    /// Records below this offset were handled (or fenced away) already: later copies are dropped.
    private let nextWanted: Mutex<Int64?>

    init(partition: KafkaTopicPartition, startingAt offset: Int64?) {
        self.partition = partition
        self.nextWanted = Mutex(offset)
    }

    func start(_ body: @escaping @Sendable (PartitionWorker) async -> Void) {
        task.withLock { $0 = Task { await body(self) } }
    }

    /// Stops taking batches; the batch in hand finishes, or is cancelled after `timeout` (a
    /// batch being retried against a database that is down must not hold a rebalance or a
    /// shutdown forever).
    func stop(within timeout: Duration) async {
        queue.close()
        guard let running = task.withLock({ $0 }) else { return }
        let deadline = Task {
            try await Task.sleep(for: timeout)
            running.cancel()
        }
        await running.value
        deadline.cancel()
    }

    func run(
        handler: Handler, consumer: KafkaConsumer, settings: ConsumerRuntimeSettings, metrics: ConsumerMetrics, status: ConsumerStatus, logger: Logger
    ) async {
        while let records = await queue.take(max: settings.maxBatch) {
            let floor = nextWanted.withLock { $0 }
            let fresh = floor.map { floor in records.filter { $0.offset >= floor } } ?? records
            guard let last = fresh.last else { continue }
            let spans = BatchSpans(fresh, group: metrics.group, partition: partition)
            defer { spans.end() }
            let batch = zip(fresh, spans.contexts(count: fresh.count)).map { Delivery(record: $0, item: handler.decode($0), trace: $1) }
            var delay = settings.retryInitialDelay
            let started = ContinuousClock.now
            defer { metrics.batchLatency.record(duration: .now - started) }
            metrics.batchSize.record(batch.count)
            while !Task.isCancelled {
                do {
                    switch try await handler.handle(batch, of: partition) {
                    case .handled:
                        nextWanted.withLock { $0 = last.offset + 1 }
                        if handler.commits == .kafkaOffsets { try await consumer.commit([partition: last.offset + 1]) }
                        metrics.handled(batch.count, partition: partition, next: last.offset + 1, consumer: consumer)
                        status.recordCheckpoint(partition, next: last.offset + 1)
                    case .fenced(let offset):
                        metrics.fenced.increment()
                        logger.warning(
                            "checkpoint moved by another member; reading the partition again from it",
                            metadata: ["partition": "\(partition)", "offset": "\(offset)"])
                        queue.clear()
                        nextWanted.withLock { $0 = offset }
                        try await consumer.seek([partition: offset])
                    }
                    break
                } catch {
                    if Task.isCancelled { return }
                    if let kafka = error as? KafkaError, kafka.code == .commitFailed {
                        // The partition moved to another member; it reads on from the last commit.
                        logger.info("offset commit refused; the partition has moved", metadata: ["partition": "\(partition)"])
                        break
                    }
                    if let kafka = error as? KafkaError, kafka.code == .closed {
                        // The member is gone (a rejoin replaced it): this worker's work is over.
                        return
                    }
                    metrics.retries.increment()
                    spans.recordError(error)
                    logger.error(
                        "batch failed; retrying it", metadata: ["partition": "\(partition)", "records": "\(batch.count)", "error": "\(String(reflecting: error))"])
                    // A little jitter, so that two partitions that deadlocked do not meet again.
                    try? await Task.sleep(for: delay + .milliseconds(Int.random(in: 0...50)))
                    delay = min(delay * 2, settings.retryMaxDelay)
                }
            }
        }
    }
}

/// The settings a worker needs (a copy of the runtime's configuration).
struct ConsumerRuntimeSettings: Sendable {
    var maxBatch: Int
    var retryInitialDelay: Duration
    var retryMaxDelay: Duration
}

/// Counters and lag of one consumer group.
struct ConsumerMetrics: Sendable {
    let group: String
    let records: Counter
    let batches: Counter
    let retries: Counter
    let fenced: Counter
    /// A batch's handling, retries included.
    let batchLatency: Metrics.Timer
    /// Records per batch.
    let batchSize: Recorder

    init(group: String) {
        self.group = group
        records = Counter(label: "consumer_records_handled_total", dimensions: [("group", group)])
        batches = Counter(label: "consumer_batches_total", dimensions: [("group", group)])
        retries = Counter(label: "consumer_batch_retries_total", dimensions: [("group", group)])
        fenced = Counter(label: "consumer_batches_fenced_total", dimensions: [("group", group)])
        batchLatency = Metrics.Timer(label: "consumer_batch_seconds", dimensions: [("group", group)])
        batchSize = Recorder(label: "consumer_batch_size", dimensions: [("group", group)], aggregate: true)
    }

    func handled(_ count: Int, partition: KafkaTopicPartition, next: Int64, consumer: KafkaConsumer) {
        records.increment(by: count)
        batches.increment()
        if let high = consumer.cachedWatermarks(partition)?.high {
            Gauge(label: "consumer_lag", dimensions: [("group", group), ("topic", partition.topic), ("partition", "\(partition.partition)")])
                .record(max(0, high - next))
        }
    }
}

import EventSourcing
import Instrumentation
import Kafka
import Metrics
import ServiceSupport
import Synchronization
import Tracing

/// Group commit for appends: concurrent appends are queued and written by a few flushers, each
/// taking every queued append it can into one transaction. An idle store writes a batch of one
/// (no added latency); a busy one writes many appends per commit.
///
/// A batch never holds two appends to the same stream or with the same command id, and no two
/// batches in flight share a stream or a command id, so batches never wait on each other's
/// row locks (no deadlocks among them) and each append's expected version is checked against
/// the committed state.
final class AppendBatcher: Sendable {
    struct Request: Sendable {
        var stream: String
        var category: String
        var topic: String
        var expected: Int64
        var events: [NewEventRow]
        var command: CommandRecord?
        /// The caller's trace context: the batch's span links to it.
        var trace: InstrumentationContext?
        var continuation: CheckedContinuation<Result<AppendOutcome, EventStoreError>, Never>
    }

    private struct State {
        var queue: [Request] = []
        var flushers = 0
        var streamsInFlight: Set<String> = []
        var commandsInFlight: Set<String> = []
    }

    private let state = Mutex(State())
    private let maxBatch: Int
    private let maxFlushers: Int
    private let write: @Sendable ([Request]) async -> [Result<AppendOutcome, EventStoreError>]
    /// An append's wait, from submission to its batch's commit.
    private let appendLatency = Metrics.Timer(label: "eventstore_append_seconds")
    /// A batch's transaction.
    private let batchLatency = Metrics.Timer(label: "eventstore_append_batch_seconds")
    /// Appends per transaction.
    private let batchSize = Recorder(label: "eventstore_append_batch_size", aggregate: true)

    init(maxBatch: Int = 256, maxFlushers: Int = 2, write: @escaping @Sendable ([Request]) async -> [Result<AppendOutcome, EventStoreError>]) {
        self.maxBatch = maxBatch
        self.maxFlushers = maxFlushers
        self.write = write
    }

    /// Appends waiting for a flusher (for tests that compose a batch on purpose).
    var queued: Int { state.withLock { $0.queue.count } }

    func submit(
        stream: String, category: String, topic: String, expected: Int64, events: [NewEventRow], command: CommandRecord?
    ) async -> Result<AppendOutcome, EventStoreError> {
        let submitted = ContinuousClock.now
        defer { appendLatency.record(duration: .now - submitted) }
        return await withCheckedContinuation { continuation in
            let request = Request(
                stream: stream, category: category, topic: topic, expected: expected, events: events, command: command,
                trace: InstrumentationContext.current, continuation: continuation)
            let lead = state.withLock { state -> Bool in
                state.queue.append(request)
                guard state.flushers < maxFlushers else { return false }
                state.flushers += 1
                return true
            }
            // Detached: a flusher serves many callers, so it must not log as the first one.
            if lead { Task.detached { await self.flush() } }
        }
    }

    /// Takes batches while there is work this flusher may take, then retires.
    private func flush() async {
        while let batch = takeBatch() {
            // One span per transaction, linked to the commands it carries (each its own trace).
            let span = startSpan("append batch", context: .topLevel)
            span.updateAttributes { attributes in
                attributes["append.batch.appends"] = batch.count
                attributes["append.batch.events"] = batch.reduce(0) { $0 + $1.events.count }
            }
            if TraceHeaders.isTracing { TraceHeaders.link(span, to: batch.lazy.compactMap(\.trace)) }
            let started = ContinuousClock.now
            let results = await write(batch)
            batchLatency.record(duration: .now - started)
            batchSize.record(batch.count)
            span.end()
            state.withLock { state in
                for request in batch {
                    state.streamsInFlight.remove(request.stream)
                    if let id = request.command?.id { state.commandsInFlight.remove(id) }
                }
            }
            for (request, result) in zip(batch, results) { request.continuation.resume(returning: result) }
        }
    }

    private func takeBatch() -> [Request]? {
        state.withLock { state -> [Request]? in
            var batch: [Request] = []
            var kept: [Request] = []
            var streams: Set<String> = []
            for request in state.queue {
                let commandID = request.command?.id
                let free =
                    batch.count < maxBatch && !state.streamsInFlight.contains(request.stream) && !streams.contains(request.stream)
                    && commandID.map { !state.commandsInFlight.contains($0) } ?? true
                if free {
                    batch.append(request)
                    streams.insert(request.stream)
                    state.streamsInFlight.insert(request.stream)
                    if let commandID { state.commandsInFlight.insert(commandID) }
                } else {
                    kept.append(request)
                }
            }
            state.queue = kept
            if batch.isEmpty {
                state.flushers -= 1
                return nil
            }
            return batch
        }
    }
}

/// An event ready for the batch insert.
struct NewEventRow: Sendable {
    var event: NewEvent
    var metadataJSON: String
}

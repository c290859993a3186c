import ConsumerRuntime
import Kafka
import Logging
import SuiteTesting
import Synchronization
import Testing

/// The consumer runtime's own promises, with a handler that records what it is given.
@Suite("Consumer runtime")
struct ConsumerRuntimeTests {
    /// Records handled offsets per partition; holds partition 0's batches while `held` is set,
    /// and fails the first `failures` attempts at a chosen offset.
    final class RecordingHandler: BatchHandler, Sendable {
        private let handled = Mutex<[Int32: [Int64]]>([:])
        private let attempts = Mutex<[Int64: Int]>([:])
        let held = Atomic<Bool>(false)
        let failingOffset: Int64?
        let failures: Int

        init(failingOffset: Int64? = nil, failures: Int = 0) {
            self.failingOffset = failingOffset
            self.failures = failures
        }

        var commits: CommitMode { .kafkaOffsets }

        func decode(_ record: KafkaConsumedMessage) -> Int64 { record.offset }

        func handle(_ batch: [Delivery<Int64>], of partition: KafkaTopicPartition) async throws -> BatchOutcome {
            while partition.partition == 0 && held.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(5)) }
            if let failingOffset, partition.partition == 0, batch.contains(where: { $0.item == failingOffset }) {
                let attempt = attempts.withLock { $0[failingOffset, default: 0] += 1; return $0[failingOffset] ?? 0 }
                if attempt <= failures { throw InjectedFailure(attempt: attempt) }
            }
            handled.withLock { $0[partition.partition, default: []] += batch.map(\.item) }
            return .handled
        }

        func offsets(_ partition: Int32) -> [Int64] { handled.withLock { $0[partition] ?? [] } }
        func attemptsAt(_ offset: Int64) -> Int { attempts.withLock { $0[offset] ?? 0 } }
    }

    struct InjectedFailure: Error { var attempt: Int }

    private func send(_ producer: KafkaProducer, topic: String, partition: Int32, count: Int) async throws {
        let messages = (0..<count).map { index in
            KafkaOutgoingMessage(topic: topic, partition: partition, key: Array("k\(index)".utf8), value: Array("v\(index)".utf8))
        }
        for result in await producer.send(messages) { _ = try result.get() }
    }

    private func runtime(_ kafka: TestKafka, topic: String, handler: RecordingHandler) -> ConsumerRuntime<RecordingHandler> {
        var configuration = ConsumerRuntime<RecordingHandler>.Configuration(
            groupID: "runtime-\(topic)", topics: [topic], instanceID: "runtime-test", bootstrapServers: kafka.bootstrapServers)
        configuration.kafkaOverrides = ["auto.offset.reset": "earliest"]
        configuration.maxBatch = 20
        configuration.retryInitialDelay = .milliseconds(10)
        return ConsumerRuntime(configuration: configuration, handler: handler, logger: testLogger("runtime"))
    }

    @Test("a partition whose batch is stuck holds back only itself: the others keep receiving and handling new records")
    func slowPartitionDoesNotHoldOthers() async throws {
        let kafka = try TestKafka()
        let topic = try kafka.makeTopic("runtime", partitions: 2)
        let producer = try kafka.producer()
        let handler = RecordingHandler()
        handler.held.store(true, ordering: .relaxed)
        try await send(producer, topic: topic, partition: 0, count: 50)
        try await send(producer, topic: topic, partition: 1, count: 50)
        let running = Task { try await runtime(kafka, topic: topic, handler: handler).run() }
        try await waitUntil("partition 1's first records handled", timeout: .seconds(60)) { handler.offsets(1).count == 50 }
        // Partition 0 is stuck in its first batch; records that arrive for partition 1 only now
        // must still be polled and handled (no barrier waits for partition 0).
        try await send(producer, topic: topic, partition: 1, count: 50)
        try await waitUntil("partition 1's later records handled while partition 0 is stuck", timeout: .seconds(30)) {
            handler.offsets(1).count == 100
        }
        #expect(handler.offsets(0).isEmpty)
        handler.held.store(false, ordering: .relaxed)
        try await waitUntil("partition 0 handled once released", timeout: .seconds(30)) { handler.offsets(0).count == 50 }
        #expect(handler.offsets(0) == Array(0..<50))
        #expect(handler.offsets(1) == Array(0..<100))
        running.cancel()
        _ = try? await running.value
        await producer.close()
    }

    @Test("a member whose batch keeps failing still stops: the batch in hand is cancelled after the drain timeout")
    func stuckBatchDoesNotHoldShutdown() async throws {
        let kafka = try TestKafka()
        let topic = try kafka.makeTopic("runtime", partitions: 1)
        let producer = try kafka.producer()
        let handler = RecordingHandler(failingOffset: 0, failures: Int.max)
        try await send(producer, topic: topic, partition: 0, count: 10)
        var runtime = runtime(kafka, topic: topic, handler: handler)
        runtime = ConsumerRuntime(
            configuration: {
                var configuration = runtime.configuration
                configuration.drainTimeout = .milliseconds(500)
                return configuration
            }(), handler: handler, logger: testLogger("runtime"))
        let member = runtime
        let stopped = TestCounter()
        let running = Task {
            _ = try? await member.run()
            stopped.increment()
        }
        try await waitUntil("the batch failed twice", timeout: .seconds(60)) { handler.attemptsAt(0) >= 2 }
        running.cancel()
        try await waitUntil("the member stopped", timeout: .seconds(15)) { stopped.value == 1 }
        #expect(handler.offsets(0).isEmpty, "the failing batch was never skipped")
        await producer.close()
    }

    @Test("a failing batch is retried until it succeeds, never skipped, and its partition's later records wait for it")
    func failingBatchIsRetriedInOrder() async throws {
        let kafka = try TestKafka()
        let topic = try kafka.makeTopic("runtime", partitions: 1)
        let producer = try kafka.producer()
        let handler = RecordingHandler(failingOffset: 30, failures: 3)
        try await send(producer, topic: topic, partition: 0, count: 100)
        let running = Task { try await runtime(kafka, topic: topic, handler: handler).run() }
        try await waitUntil("every record handled", timeout: .seconds(60)) { handler.offsets(0).count >= 100 }
        #expect(handler.attemptsAt(30) == 4, "three failures, then success")
        #expect(handler.offsets(0) == Array(0..<100), "in order, each once")
        running.cancel()
        _ = try? await running.value
        await producer.close()
    }
}

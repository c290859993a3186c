import Sagas
import SuiteTesting
import Synchronization
import Testing

/// The orchestrator's saga batches pass a gate: a bounded number at once, and under load the
/// batches that only move running sagas on go before the ones that start sagas (a start that
/// waited past its patience goes first after all). Pure concurrency, no I/O.
@Suite("Saga write gate")
struct SagaWriteGateTests {
    /// The order batches entered in, and a latch that keeps the first one inside.
    final class Recorder: Sendable {
        let entered = Mutex<[String]>([])
        let inside = Mutex(0)
        let most = Mutex(0)
        private let release = Mutex<CheckedContinuation<Void, Never>?>(nil)
        private let released = Mutex(false)

        func record(_ name: String) { entered.withLock { $0.append(name) } }

        func holdUntilReleased() async {
            await withCheckedContinuation { continuation in
                let already = released.withLock { released in
                    if !released { release.withLock { $0 = continuation } }
                    return released
                }
                if already { continuation.resume() }
            }
        }

        func releaseHolder() {
            let waiter = released.withLock { released in
                released = true
                return release.withLock { $0.take() }
            }
            waiter?.resume()
        }
    }

    /// A batch that takes a slot and keeps it until the recorder releases it.
    private func holdSlot(_ gate: SagaWriteGate, _ recorder: Recorder) async throws -> Task<Void, any Error> {
        let holder = Task {
            try await gate.pass(.finishing) {
                recorder.record("holder")
                await recorder.holdUntilReleased()
            }
        }
        try await waitUntil("the holder is inside", timeout: .seconds(5)) { recorder.entered.withLock { $0 == ["holder"] } }
        return holder
    }

    /// One batch holds the only slot; a start, then a finishing batch queue behind it.
    private func queueStartThenFinishing(_ gate: SagaWriteGate, _ recorder: Recorder) async throws -> [Task<Void, any Error>] {
        let holder = try await holdSlot(gate, recorder)
        let start = Task { try await gate.pass(.starting) { recorder.record("start") } }
        try await waitUntil("the start waits", timeout: .seconds(5)) { gate.waitingCounts[.starting] == 1 }
        let finishing = Task { try await gate.pass(.finishing) { recorder.record("finishing") } }
        try await waitUntil("the finishing batch waits", timeout: .seconds(5)) { gate.waitingCounts[.finishing] == 1 }
        return [holder, start, finishing]
    }

    /// The order the holder, the start and the finishing batch entered a one-slot gate in.
    private func entryOrder(patience: Duration) async throws -> [String] {
        let gate = SagaWriteGate(limit: 1, patience: patience)
        let recorder = Recorder()
        let tasks = try await queueStartThenFinishing(gate, recorder)
        recorder.releaseHolder()
        for task in tasks { try await task.value }
        return recorder.entered.withLock { $0 }
    }

    @Test("a waiting batch of running sagas goes before a start that has waited longer")
    func finishingFirst() async throws {
        #expect(try await entryOrder(patience: .seconds(3_600)) == ["holder", "finishing", "start"])
    }

    @Test("a start that has waited past its patience goes first")
    func patientStart() async throws {
        #expect(try await entryOrder(patience: .zero) == ["holder", "start", "finishing"])
    }

    @Test("no more batches inside than the limit, and every batch gets in")
    func bounded() async throws {
        let gate = SagaWriteGate(limit: 3)
        let recorder = Recorder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    try await gate.pass(index.isMultiple(of: 3) ? .starting : .finishing) {
                        let now = recorder.inside.withLock { inside in
                            inside += 1
                            return inside
                        }
                        recorder.most.withLock { $0 = max($0, now) }
                        try await Task.sleep(for: .milliseconds(5))
                        recorder.inside.withLock { $0 -= 1 }
                        recorder.record("\(index)")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(recorder.most.withLock { $0 } == 3)
        #expect(recorder.entered.withLock { $0.count } == 40)
    }

    @Test("a batch cancelled while it waits leaves without taking a slot")
    func cancelledWaiter() async throws {
        let gate = SagaWriteGate(limit: 1)
        let recorder = Recorder()
        let holder = try await holdSlot(gate, recorder)
        let waiter = Task { try await gate.pass(.starting) { recorder.record("cancelled one ran") } }
        try await waitUntil("the waiter waits", timeout: .seconds(5)) { gate.waitingCounts[.starting] == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(gate.waitingCounts.isEmpty)
        recorder.releaseHolder()
        try await holder.value
        try await gate.pass(.finishing) { recorder.record("next") }
        #expect(recorder.entered.withLock { $0 } == ["holder", "next"])
    }
}

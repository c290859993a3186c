import CRdKafka
import Dispatch
import Foundation
import Synchronization

/// Owns an `rd_kafka_t` and makes closing it safe while other tasks still use it.
///
/// librdkafka's handle is thread-safe, but destroying it while another thread is inside a call
/// is a use-after-free. Every call goes through `withHandle`, which counts active users; `close`
/// refuses new users and waits for the active ones before the handle is destroyed.
final class KafkaHandleGuard: Sendable {
    private struct State {
        var closed = false
        var activeCalls = 0
    }

    /// `rd_kafka_t` is documented as thread-safe; access is counted through `state`.
    private struct Handle: @unchecked Sendable { let pointer: OpaquePointer }

    private let handle: Handle
    private let state = Mutex(State())

    init(_ pointer: OpaquePointer) {
        handle = Handle(pointer: pointer)
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    func withHandle<T>(_ body: (OpaquePointer) throws(KafkaError) -> T) throws(KafkaError) -> T {
        let admitted = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.activeCalls += 1
            return true
        }
        guard admitted else { throw KafkaError(.closed, reason: "the Kafka client was closed") }
        defer { state.withLock { $0.activeCalls -= 1 } }
        return try body(handle.pointer)
    }

    /// Marks the handle closed, waits for active calls, then runs `finish` with the raw handle
    /// (to flush, leave the group, destroy). Returns false if it was already closed.
    /// Blocks the calling thread: call it off the cooperative pool.
    @discardableResult
    func close(_ finish: (OpaquePointer) -> Void) -> Bool {
        let first = state.withLock { state -> Bool in
            defer { state.closed = true }
            return !state.closed
        }
        guard first else { return false }
        while state.withLock({ $0.activeCalls > 0 }) {
            usleep(1_000)
        }
        finish(handle.pointer)
        return true
    }

    /// The raw handle for callers that already own it exclusively (the poll thread).
    var unsafePointer: OpaquePointer { handle.pointer }
}

/// Runs blocking librdkafka work on a Dispatch queue so that no thread of Swift's cooperative
/// pool (two of them on a two-core machine) is held while librdkafka waits on the network.
@discardableResult
func offloaded<T: Sendable>(
    to queue: DispatchQueue = .global(), _ work: @escaping @Sendable () -> T
) async -> T {
    await withCheckedContinuation { continuation in
        queue.async { continuation.resume(returning: work()) }
    }
}

/// Waits, on the current (non-cooperative) thread, for an async operation. Used only inside
/// librdkafka callbacks that must not return before the application answered (rebalances).
func waitSynchronously<T: Sendable>(default fallback: T, _ operation: @escaping @Sendable () async -> T) -> T {
    let box = SynchronousResult<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        let result = await operation()
        box.value.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    return box.value.withLock { $0 } ?? fallback
}

private final class SynchronousResult<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}

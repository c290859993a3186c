import CRdKafka
import Dispatch
import Foundation
import Synchronization

/// One thread that serves a producer's delivery reports (`rd_kafka_poll`) until stopped.
final class KafkaPollThread: Sendable {
    private struct Handle: @unchecked Sendable { let pointer: OpaquePointer }
    private let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)

    init(name: String, handle pointer: OpaquePointer) {
        let handle = Handle(pointer: pointer)
        let thread = Thread { [self] in
            while running.load(ordering: .acquiring) {
                rd_kafka_poll(handle.pointer, 50)
            }
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Stops polling and waits for the thread to leave librdkafka. Idempotent.
    func stop() {
        if running.exchange(false, ordering: .acquiringAndReleasing) {
            finished.wait()
        }
    }
}

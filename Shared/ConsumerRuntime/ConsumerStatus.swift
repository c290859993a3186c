public import Kafka
import Synchronization

/// What a running consumer owns and where it stands (`GET /projections`, readiness, tests).
public final class ConsumerStatus: Sendable {
    private struct State {
        var state = "starting"
        var owned: [KafkaTopicPartition: Int64?] = [:]
        var consumer: KafkaConsumer?
        var lostAssignment = false
        /// Since when the group has given this member no partition (set by an assignment that
        /// left it with none; nil while it owns any, or before it joined).
        var idleSince: ContinuousClock.Instant?
    }

    private let storage = Mutex(State())

    public init() {}

    public var state: String { storage.withLock { $0.state } }
    public var ownedPartitions: [KafkaTopicPartition: Int64?] { storage.withLock { $0.owned } }
    public var consumer: KafkaConsumer? { storage.withLock { $0.consumer } }

    func setState(_ state: String) { storage.withLock { $0.state = state } }
    func attach(_ consumer: KafkaConsumer) { storage.withLock { $0.consumer = consumer } }
    func detach() { storage.withLock { $0.consumer = nil } }

    func assigned(_ partitions: [KafkaTopicPartition], checkpoints: [KafkaTopicPartition: Int64]) {
        storage.withLock { state in
            for partition in partitions { state.owned[partition] = checkpoints[partition] }
            state.idleSince = state.owned.isEmpty ? (state.idleSince ?? .now) : nil
        }
    }

    /// Why this member should not count as ready, or nil: its loop stalled, or the group (which
    /// has members, since it just assigned) has given it no partition for longer than `grace`.
    public func readinessProblem(grace: Duration, now: ContinuousClock.Instant = .now) -> String? {
        storage.withLock { state in
            if state.state.hasPrefix("stalled") { return state.state }
            if let since = state.idleSince, now - since > grace {
                return "no partition assigned for \((now - since).components.seconds) s: the group's other members hold them all"
            }
            return nil
        }
    }

    func revoked(_ partitions: [KafkaTopicPartition], lost: Bool) {
        storage.withLock { state in
            for partition in partitions { state.owned[partition] = nil }
            if lost { state.lostAssignment = true }
        }
    }

    /// True once after the assignment was lost (session expired).
    func takeLostAssignment() -> Bool {
        storage.withLock { state in
            defer { state.lostAssignment = false }
            return state.lostAssignment
        }
    }

    func recordCheckpoint(_ partition: KafkaTopicPartition, next: Int64) {
        storage.withLock { state in
            if state.owned.keys.contains(partition) { state.owned[partition] = next }
        }
    }
}

import Kafka
import Synchronization

/// What consumers in a test saw, shared between their polling tasks.
final class RecordLog: Sendable {
    private let records = Mutex<[KafkaConsumedMessage]>([])
    private let assignments = Mutex<[String: Set<KafkaTopicPartition>]>([:])
    private let rebalances = Mutex<[String]>([])

    func append(_ batch: [KafkaConsumedMessage]) {
        records.withLock { $0.append(contentsOf: batch) }
    }

    var all: [KafkaConsumedMessage] { records.withLock { $0 } }
    var count: Int { records.withLock { $0.count } }

    func assignment(of member: String) -> Set<KafkaTopicPartition> {
        assignments.withLock { $0[member] ?? [] }
    }

    /// A rebalance handler that keeps `member`'s current assignment up to date.
    func tracking(_ member: String) -> KafkaRebalanceHandler {
        KafkaRebalanceHandler(
            partitionsAssigned: { partitions in
                self.assignments.withLock { $0[member, default: []].formUnion(partitions) }
                self.note(member, "assigned", partitions)
                return [:]
            },
            partitionsRevoked: { partitions, _ in
                self.assignments.withLock { $0[member, default: []].subtract(partitions) }
                self.note(member, "revoked", partitions)
            })
    }

    /// What a failed wait should say: each member's partitions, the records seen, the rebalances.
    var state: String {
        let owned = assignments.withLock { $0 }.map { "\($0.key) owns \($0.value.map(\.partition).sorted())" }.sorted()
        return "\(owned.joined(separator: "; ")); \(count) records; rebalances: \(rebalances.withLock { $0 }.joined(separator: ", "))"
    }

    private func note(_ member: String, _ what: String, _ partitions: [KafkaTopicPartition]) {
        let at = ContinuousClock.now
        rebalances.withLock { $0.append("\(member) \(what) \(partitions.map(\.partition).sorted()) at \(at)") }
    }
}

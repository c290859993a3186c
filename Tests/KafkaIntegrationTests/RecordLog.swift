import Kafka
import Synchronization

/// What consumers in a test saw, shared between their polling tasks.
final class RecordLog: Sendable {
    private let records = Mutex<[KafkaConsumedMessage]>([])
    private let assignments = Mutex<[String: Set<KafkaTopicPartition>]>([:])

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
                return [:]
            },
            partitionsRevoked: { partitions, _ in
                self.assignments.withLock { $0[member, default: []].subtract(partitions) }
            })
    }
}

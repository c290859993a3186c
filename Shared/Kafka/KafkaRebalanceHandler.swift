/// What a consumer group member does when partitions move to or away from it.
///
/// Both closures run while the consumer waits: nothing is fetched from an assigned partition
/// before `partitionsAssigned` answered with where to start, and a revoked partition is not
/// released before `partitionsRevoked` returned, so the caller can finish or abandon its
/// in-flight batch. The closures must not call `poll` on the same consumer.
public struct KafkaRebalanceHandler: Sendable {
    /// Returns where to start each partition; a partition left out starts at `.committed`.
    public var partitionsAssigned: @Sendable ([KafkaTopicPartition]) async -> [KafkaTopicPartition: KafkaStartPosition]
    /// `lost` is true when the partitions were taken away without a clean hand-over
    /// (session timed out): another member may already own them.
    public var partitionsRevoked: @Sendable (_ partitions: [KafkaTopicPartition], _ lost: Bool) async -> Void

    public init(
        partitionsAssigned: @escaping @Sendable ([KafkaTopicPartition]) async -> [KafkaTopicPartition: KafkaStartPosition] = { _ in [:] },
        partitionsRevoked: @escaping @Sendable (_ partitions: [KafkaTopicPartition], _ lost: Bool) async -> Void = { _, _ in }
    ) {
        self.partitionsAssigned = partitionsAssigned
        self.partitionsRevoked = partitionsRevoked
    }
}

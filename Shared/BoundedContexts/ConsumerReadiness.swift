import ConsumerRuntime
import Kafka
import ServiceHTTP

extension ReadinessCheck {
    /// How long a member may go without a partition while its group runs before it is not
    /// ready (a rebalance takes seconds; a member left out for longer is a spare, or stuck).
    static let consumerGrace: Duration = .seconds(30)

    /// A consumer-group member is ready while its loop runs, its group has given it partitions
    /// (or did so less than `grace` ago), and its own consumer reaches a broker (a metadata
    /// request, bounded to 2 s). The detail names the partitions it owns.
    static func consumer(_ member: any ConsumerGroupMember, grace: Duration = consumerGrace) -> Self {
        .reporting("consumer \(member.groupID)") {
            if let problem = member.status.readinessProblem(grace: grace) { throw ConsumerNotReady(reason: problem) }
            if let consumer = member.status.consumer {
                do {
                    _ = try await consumer.metadata(timeout: .seconds(2))
                } catch {
                    throw ConsumerNotReady(reason: "lost its broker connection: \(error)")
                }
            }
            return "\(member.status.ownedPartitions.count) partitions"
        }
    }

    /// One check per consumer-group member among `services`.
    static func consumers(in services: [any Sendable]) -> [Self] {
        services.compactMap { $0 as? any ConsumerGroupMember }.map { .consumer($0) }
    }
}

struct ConsumerNotReady: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

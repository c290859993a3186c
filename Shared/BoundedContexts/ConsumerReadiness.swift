import ConsumerRuntime
import ServiceHTTP

extension ReadinessCheck {
    /// How long a member may go without a partition while its group runs before it is not
    /// ready (a rebalance takes seconds; a member left out for longer is a spare, or stuck).
    static let consumerGrace: Duration = .seconds(30)

    /// A consumer-group member is ready while its loop runs, its group has given it partitions
    /// (or left it without for less than `grace`), and its own consumer reaches a broker
    /// (`ConsumerGroupMember.readinessProblem`). The detail says how many partitions it owns.
    static func consumer(_ member: any ConsumerGroupMember, grace: Duration = consumerGrace) -> Self {
        .reporting("consumer \(member.groupID)") {
            if let problem = await member.readinessProblem(grace: grace) { throw ConsumerNotReady(reason: problem) }
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

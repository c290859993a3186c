/// A service that is one member of a consumer group: a projection processor, a saga processor,
/// the command consumer. What the service's readiness asks about (`ReadinessCheck.consumer`).
public protocol ConsumerGroupMember: Sendable {
    var groupID: String { get }
    var status: ConsumerStatus { get }
}

extension ConsumerRuntime: ConsumerGroupMember {
    public var groupID: String { configuration.groupID }
}

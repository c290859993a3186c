/// A service that is one member of a consumer group: a projection processor, a saga processor,
/// the command consumer. What the service's readiness asks about (`ReadinessCheck.consumer`).
public protocol ConsumerGroupMember: Sendable {
    var groupID: String { get }
    var status: ConsumerStatus { get }
}

extension ConsumerRuntime: ConsumerGroupMember {
    public var groupID: String { configuration.groupID }
}

extension ConsumerGroupMember {
    /// Why this member is not ready, or nil: its loop stalled, its group (which has members,
    /// since it assigned) has left it without a partition for longer than `grace`, or its
    /// consumer cannot reach a broker (a metadata request, bounded to `timeout`).
    public func readinessProblem(grace: Duration, timeout: Duration = .seconds(2)) async -> String? {
        if let problem = status.readinessProblem(grace: grace) { return problem }
        guard let consumer = status.consumer else { return nil }
        do {
            _ = try await consumer.metadata(timeout: timeout)
            return nil
        } catch {
            return "lost its broker connection: \(error)"
        }
    }
}

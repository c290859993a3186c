import Synchronization

/// A counter that concurrent test tasks can share.
public final class TestCounter: Sendable {
    private let count = Atomic<Int>(0)

    public init() {}

    public func increment(by amount: Int = 1) { count.add(amount, ordering: .relaxed) }
    public var value: Int { count.load(ordering: .relaxed) }
}

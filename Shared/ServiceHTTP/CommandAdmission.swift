public import Hummingbird
import Metrics
import Synchronization

/// Load shedding for HTTP commands: at most `limit` are worked on at once; one more is refused
/// at once with 503 `overloaded` and `Retry-After: 1`, so a burst cannot pile up unbounded
/// requests (each holding memory and a place in the event store's group-commit queue) behind a
/// slow database. It bounds the command service's own queue only: a sustained rate above what
/// the whole pipeline completes is accepted as long as placements stay fast (measured
/// with `suite-bench` at 300 offered per second: 23 of 6,000 shed; the sagas' backlog, not
/// the commands, is what grows).
public struct CommandAdmission<Context: RequestContext>: RouterMiddleware {
    private let inFlight: Counter
    private let limit: Int
    private let shed = Metrics.Counter(label: "http_commands_shed_total")

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    public init(limit: Int) {
        self.limit = limit
        self.inFlight = Counter()
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let admitted = inFlight.value.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue <= limit
        defer { inFlight.value.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
        guard admitted else {
            shed.increment()
            var error = ServiceError(
                .serviceUnavailable, code: "overloaded",
                message: "the service is working on \(limit) commands already; try again shortly", details: ["limit": "\(limit)"])
            error.retryAfterSeconds = 1
            throw error
        }
        return try await next(request, context)
    }
}

import Hummingbird
import Metrics
import ServiceHTTP

/// Admission tied to the work in flight: a command that starts a saga (placing a booking) is
/// refused at once with 503 `overloaded` and `Retry-After` while `limit` instances of that saga
/// are running. Past saturation every admitted instance would otherwise queue behind every other
/// at each of its hops, so latency grows without bound; bounding the running sagas keeps the
/// admitted ones finishing at the rate the suite can complete them and tells the rest to come
/// back (`saga_starts_shed_total`).
struct SagaStartAdmission<Context: RequestContext>: RouterMiddleware {
    let saga: String
    let limit: Int
    let running: RunningSagas
    private let shed: Counter

    init(saga: String, limit: Int, running: RunningSagas) {
        self.saga = saga
        self.limit = limit
        self.running = running
        running.watch(saga)
        shed = Counter(label: "saga_starts_shed_total", dimensions: [("saga", saga)])
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let count = running.running(saga), count >= limit {
            shed.increment()
            var error = ServiceError(
                .serviceUnavailable, code: "overloaded",
                message: "\(count) \(saga) sagas are running, the most this suite takes on at once; try again shortly",
                details: ["saga": saga, "running": "\(count)", "limit": "\(limit)"])
            error.retryAfterSeconds = 1
            throw error
        }
        // Counted before it runs, so that the requests in flight at once count each other; the
        // place is given back if it did not start anything.
        running.admit(saga)
        do {
            let response = try await next(request, context)
            if !(200..<300).contains(response.status.code) { running.admit(saga, by: -1) }
            return response
        } catch {
            running.admit(saga, by: -1)
            throw error
        }
    }
}

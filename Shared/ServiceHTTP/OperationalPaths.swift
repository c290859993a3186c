import Hummingbird

/// The routes that answer about the service itself (probes, scrapes, its API document): never
/// traced (a health check every few seconds would be a trace each) and served while the
/// migrations run.
enum OperationalPaths {
    static func contains(_ path: String) -> Bool {
        path.hasPrefix("/health/") || path == "/metrics" || path == "/openapi.json"
    }
}

/// Hummingbird's `TracingMiddleware` for every route but the operational ones.
struct RequestTracingMiddleware<Context: RequestContext>: RouterMiddleware {
    let tracing = TracingMiddleware<Context>()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if OperationalPaths.contains(request.uri.path) { return try await next(request, context) }
        return try await tracing.handle(request, context: context, next: next)
    }
}

/// Until the migrations have run, every route but the operational ones answers 503 with
/// `Retry-After`: the schema, roles and grants they need may not be there yet (readiness says
/// so too, but not every client asks).
struct MigrationGateMiddleware<Context: RequestContext>: RouterMiddleware {
    let gate: StartupGate

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard gate.opened != true, !OperationalPaths.contains(request.uri.path) else { return try await next(request, context) }
        var error = ServiceError(.serviceUnavailable, code: "starting", message: "the service is applying its migrations; try again shortly")
        error.retryAfterSeconds = 1
        throw error
    }
}

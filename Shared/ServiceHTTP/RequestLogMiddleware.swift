public import Hummingbird
import Foundation
public import Logging
import ServiceSupport

/// Gives every request its message context (the caller's `X-Correlation-ID`, or a new one), so
/// that each log line written while handling it carries the correlation id, and logs one line
/// per command request (not the operational and read routes: a dashboard's polling would drown
/// the commands).
public struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let correlationID = RequestJSON.headerCorrelationID(of: request) ?? RequestJSON.newCorrelationID()
        // What the request's first event names as its cause when the command has no id of its
        // own (no Idempotency-Key).
        let requestID = "http-request:\(RequestJSON.newCorrelationID())"
        return try await MessageContext(correlationID: correlationID, causationID: requestID).run {
            let started = ContinuousClock.now
            do {
                let response = try await next(request, context)
                log(request, status: response.status.code, since: started)
                return response
            } catch {
                // An error that maps to no response becomes a 500: the line an operator needs most.
                log(request, status: (error as? any HTTPResponseError)?.status.code ?? 500, since: started)
                throw error
            }
        }
    }

    private func log(_ request: Request, status: Int, since started: ContinuousClock.Instant) {
        guard request.method != .get, request.method != .head else { return }
        let elapsed = ContinuousClock.now - started
        logger.info(
            "request handled",
            metadata: [
                "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "status": "\(status)",
                "ms": "\(String(format: "%.1f", elapsed / .milliseconds(1)))",
            ])
    }
}

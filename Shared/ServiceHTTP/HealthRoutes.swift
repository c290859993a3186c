import Foundation
public import Hummingbird
public import Prometheus
import ServiceSupport

/// One dependency the service needs to serve requests (PostgreSQL, Kafka, ...).
public struct ReadinessCheck: Sendable {
    public var name: String
    /// Succeeds when the dependency answers; what it returns is shown as the check's detail.
    public var check: @Sendable () async throws -> String?

    public init(name: String, check: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.check = {
            try await check()
            return nil
        }
    }

    /// A check whose answer is worth showing (`details` in `/health/ready`).
    public static func reporting(_ name: String, detail: @escaping @Sendable () async throws -> String) -> Self {
        var check = Self(name: name) {}
        check.check = { try await detail() }
        return check
    }
}

extension Router {
    /// `GET /health/live` (the process answers), `GET /health/ready` (every dependency answers;
    /// 503 with the failing ones otherwise) and `GET /metrics` (Prometheus text format).
    public func addOperationalRoutes(checks: [ReadinessCheck], registry: PrometheusCollectorRegistry) {
        get("/health/live") { _, _ in
            Self.json(.ok, ["status": "live"])
        }
        get("/health/ready") { _, _ in
            let results = await ReadinessReport.run(checks)
            let status: HTTPResponse.Status = results.allReady ? .ok : .serviceUnavailable
            return Self.json(
                status, ["status": results.allReady ? "ready" : "not_ready", "checks": results.checks, "details": results.details])
        }
        get("/metrics") { _, _ in
            ProcessGauges.sample()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }

    private static func json(_ status: HTTPResponse.Status, _ object: [String: any Sendable]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The outcome of all readiness checks, run concurrently, each bounded by a timeout.
struct ReadinessReport {
    var checks: [String: String]
    var details: [String: String]
    var allReady: Bool

    static func run(_ checks: [ReadinessCheck], timeout: Duration = .seconds(3)) async -> Self {
        let outcomes = await withTaskGroup(of: (String, String, String?).self) { group in
            for check in checks {
                group.addTask {
                    do {
                        let detail = try await withTimeout(timeout) { try await check.check() }
                        return (check.name, "ok", detail)
                    } catch {
                        return (check.name, "failed: \(error)", nil)
                    }
                }
            }
            var results: [String: String] = [:]
            var details: [String: String] = [:]
            for await (name, outcome, detail) in group {
                results[name] = outcome
                details[name] = detail
            }
            return (results, details)
        }
        return Self(checks: outcomes.0, details: outcomes.1, allReady: outcomes.0.values.allSatisfy { $0 == "ok" })
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    var timeout: Duration
    var description: String { "no answer within \(timeout)" }
}

/// Runs `operation`, cancelling it if it takes longer than `timeout`.
func withTimeout<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TimeoutError(timeout: timeout)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw TimeoutError(timeout: timeout) }
        return first
    }
}

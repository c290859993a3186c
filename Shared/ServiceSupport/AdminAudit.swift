import Foundation
public import Hummingbird
import HTTPTypes
import Logging
public import PostgresNIO

/// Every `/admin/...` call, allowed or refused, written to `ops.audit_log`: who (`X-Operator`),
/// what (method, path, the request body up to 4 KiB: a skip's reason, a replay's stream), when,
/// and the result (HTTP status). Placed outside the token check, so refused attempts are on
/// record too; a failed audit write is logged and does not change the answer.
public struct AdminAuditMiddleware<Context: RequestContext>: RouterMiddleware {
    let client: PostgresClient
    let service: String
    let logger: Logger

    public init(client: PostgresClient, service: String, logger: Logger) {
        self.client = client
        self.service = service
        self.logger = logger
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        let body = (try? await request.collectBody(upTo: 64 * 1024)).map { String(buffer: $0).prefix(4_096) } ?? ""
        let action = "\(request.method.rawValue) \(request.uri.path)\(request.uri.query.map { "?\($0)" } ?? "")"
        do {
            let response = try await next(request, context)
            await record(request.operatorName, action: action, body: String(body), status: Int(response.status.code))
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            await record(request.operatorName, action: action, body: String(body), status: Int(status))
            throw error
        }
    }

    private func record(_ who: String, action: String, body: String, status: Int) async {
        do {
            _ = try await client.liveQuery(
                """
                INSERT INTO ops.audit_log (service, operator, action, body, status)
                VALUES (\(service), \(who), \(action), \(body), \(Int32(status)))
                """, logger: logger
            )
        } catch {
            logger.error("admin action not audited", metadata: ["action": "\(action)", "error": "\(DatabaseErrors.describe(error))"])
        }
    }
}

/// The audit table, in its own schema shared by every service.
public enum AuditSchema {
    public static func migrator(roles: ServiceRoles) -> Migrator {
        Migrator(
            schema: "ops",
            migrations: [
                Migration(
                    version: 1, name: "admin audit log",
                    statements: [
                        """
                        CREATE TABLE ops.audit_log (
                            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),
                            service text NOT NULL, operator text NOT NULL, action text NOT NULL, body text NOT NULL, status integer NOT NULL)
                        """,
                        "CREATE INDEX audit_log_at ON ops.audit_log (at)",
                    ])
            ],
            // Every service may add to the log; none may change or delete it.
            privileges: roles.create
                + roles.all.flatMap { role in
                    [
                        "GRANT USAGE ON SCHEMA ops TO \(role)", "GRANT INSERT ON ops.audit_log TO \(role)",
                        "GRANT USAGE ON ALL SEQUENCES IN SCHEMA ops TO \(role)",
                    ]
                })
    }
}

extension Router {
    /// The `/admin` group of a service (or another path for operator-only routes): audited,
    /// then guarded by the bearer token.
    public func adminGroup(
        _ path: RouterPath = "/admin", token: String?, client: PostgresClient, service: String, logger: Logger
    ) -> RouterGroup<Context> {
        group(path)
            .add(middleware: AdminAuditMiddleware(client: client, service: service, logger: logger))
            .add(middleware: AdminAuthMiddleware(token: token))
    }
}

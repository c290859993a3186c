public import ServiceSupport
import Foundation
public import Hummingbird
import HTTPTypes
import Logging
public import PostgresNIO

/// Every `/admin/...` call, allowed or refused, written to `ops.audit_log`: who (`X-Operator`),
/// what (method, path, the request body up to 4 KiB: a skip's reason, a replay's stream), when,
/// and the result (HTTP status). Placed outside the token check, so refused attempts (failed
/// token guesses) are on record too. Audit or refuse: the row is written BEFORE the call runs
/// (status empty), and a call whose row cannot be written is answered 503 `audit_unavailable`
/// without running; the status is filled in after the call. What the caller sent is stored
/// escaped (`AuditText`: a NUL byte or invalid UTF-8 cannot fail the insert).
public struct AdminAuditMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Bodies beyond this are refused (and audited as refused): they could not be recorded.
    static var maxBody: Int { 64 * 1024 }
    /// How much of the (escaped) body the row keeps.
    static var keptBody: Int { 4_096 }

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
        let who = AuditText.escaped(request.operatorName)
        let action = AuditText.escaped("\(request.method.rawValue) \(request.uri.path)\(request.uri.query.map { "?\($0)" } ?? "")")
        let body: String
        do {
            body = String(AuditText.escaped(try await request.collectBody(upTo: Self.maxBody).readableBytesView).prefix(Self.keptBody))
        } catch {
            let refusal = ServiceError(.contentTooLarge, code: "body_too_large", message: "admin request bodies are limited to \(Self.maxBody) bytes")
            if let entry = try? await begin(who, action: action, body: "(body over \(Self.maxBody) bytes, not read)") {
                await finish(entry, action: action, status: Int(refusal.status.code))
            }
            throw refusal
        }
        let entry: Int64
        do {
            entry = try await begin(who, action: action, body: body)
        } catch {
            logger.error("admin call refused: it could not be audited", metadata: ["action": "\(action)", "error": "\(DatabaseErrors.describe(error))"])
            var refusal = ServiceError(
                .serviceUnavailable, code: "audit_unavailable",
                message: "the admin call was not run: it could not be written to the audit log (\(DatabaseErrors.describe(error)))")
            refusal.retryAfterSeconds = 5
            throw refusal
        }
        do {
            let response = try await next(request, context)
            await finish(entry, action: action, status: Int(response.status.code))
            return response
        } catch {
            await finish(entry, action: action, status: Int((error as? any HTTPResponseError)?.status.code ?? 500))
            throw error
        }
    }

    /// Writes the call's row before it runs; its status stays empty until `finish`.
    private func begin(_ who: String, action: String, body: String) async throws -> Int64 {
        let rows = try await client.liveQuery(
            "INSERT INTO ops.audit_log (service, operator, action, body) VALUES (\(service), \(who), \(action), \(body)) RETURNING id",
            logger: logger)
        guard let id = try rows.first?.decode(Int64.self) else { throw AuditNotWritten() }
        return id
    }

    /// Fills in the result (once: `ops.audit_finished` only sets an empty status). A failure
    /// leaves the row without a status: the call ran, its result is not known to the log.
    private func finish(_ entry: Int64, action: String, status: Int) async {
        do {
            try await client.liveQuery("SELECT ops.audit_finished(\(entry), \(Int32(status)))", logger: logger)
        } catch {
            logger.error("admin call's result not audited", metadata: ["action": "\(action)", "error": "\(DatabaseErrors.describe(error))"])
        }
    }
}

/// The audit insert returned no row.
struct AuditNotWritten: Error, CustomStringConvertible {
    var description: String { "the audit insert returned no row" }
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
                    ]),
                Migration(
                    version: 2, name: "audit before the call runs",
                    statements: [
                        // Written before the call, so a call that cannot be audited does not
                        // run; the status follows. Empty: the call's result was not recorded.
                        "ALTER TABLE ops.audit_log ALTER COLUMN status DROP NOT NULL",
                        // The roles may only insert: the result is set through this function,
                        // once per row, and nothing else of a row can change.
                        """
                        CREATE FUNCTION ops.audit_finished(entry bigint, result integer) RETURNS void
                        LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, ops AS $$
                            UPDATE ops.audit_log SET status = result WHERE id = entry AND status IS NULL
                        $$
                        """,
                        "REVOKE ALL ON FUNCTION ops.audit_finished(bigint, integer) FROM PUBLIC",
                    ]),
            ],
            // Every service may add to the log; none may change, delete or read it.
            privileges: roles.create
                + roles.all.flatMap { role in
                    [
                        // SELECT of the id alone: the insert returns it (RETURNING needs it), and
                        // nothing else of the log can be read back.
                        "GRANT USAGE ON SCHEMA ops TO \(role)", "GRANT INSERT, SELECT (id) ON ops.audit_log TO \(role)",
                        "GRANT USAGE ON ALL SEQUENCES IN SCHEMA ops TO \(role)",
                        "GRANT EXECUTE ON FUNCTION ops.audit_finished(bigint, integer) TO \(role)",
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

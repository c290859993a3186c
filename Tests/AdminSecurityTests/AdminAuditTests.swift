import CheckoutSuite
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import ServiceHTTP
import ServiceSupport
import SuiteTesting
import Synchronization
import Testing

/// Audit or refuse (issue 22): an admin call runs only after its audit row is written. A body
/// PostgreSQL's text cannot hold (a NUL byte, invalid UTF-8) is stored escaped, and when the
/// audit log cannot be written the call is refused with 503 and does not run.
@Suite("Admin calls are audited or refused", .serialized)
struct AdminAuditTests {
    static let token = "the-admin-token"

    /// An admin group as the services build it, with one route that counts its runs.
    private func withAdminRoute(
        _ body: @Sendable (any TestClientProtocol, PostgresClient, RunCount) async throws -> Void
    ) async throws {
        try await TestDatabase.withFresh { client, _ in
            try await AuditSchema.migrator(roles: CheckoutNames.roles).run(on: client, logger: testLogger("migrate"))
            let runs = RunCount()
            let router = Router()
            router.adminGroup(token: Self.token, client: client, service: "audited", logger: testLogger("audit"))
                .post("act") { _, _ in
                    runs.count.add(1, ordering: .relaxed)
                    return "done"
                }
            try await Application(router: router).test(.router) { http in try await body(http, client, runs) }
        }
    }

    private func rows(_ client: PostgresClient) async throws -> [(body: String, status: Int32?)] {
        try await client.query("SELECT body, status FROM ops.audit_log ORDER BY id", logger: testLogger("q")).collect()
            .map { try $0.decode((String, Int32?).self) }
    }

    @Test("a body with a NUL byte and invalid UTF-8 is audited escaped before the call runs")
    func hostileBodyIsAuditedEscaped() async throws {
        try await withAdminRoute { http, client, runs in
            var body = ByteBuffer(string: #"{"reason":"a"#)
            body.writeBytes([0x00, 0xFF, 0x5C])
            body.writeString(#"b"}"#)
            let response = try await http.execute(
                uri: "/admin/act", method: .post, headers: [.authorization: "Bearer \(Self.token)", .contentType: "application/json"], body: body)
            let audited = try await rows(client)
            if response.status == .ok {
                #expect(runs.count.load(ordering: .relaxed) == 1)
                #expect(audited.count == 1, "a call that ran has its row")
                #expect(audited.first?.body == #"{"reason":"a\u0000\xFF\\b"}"#, "stored escaped: \(audited.first?.body ?? "no row")")
                #expect(audited.first?.status == 200)
            } else {
                #expect(runs.count.load(ordering: .relaxed) == 0, "a refused call did not run")
            }
            #expect(runs.count.load(ordering: .relaxed) == 0 || !audited.isEmpty, "never run without a row")
        }
    }

    @Test("when the audit log cannot be written the call is refused with 503 audit_unavailable and does not run; a wrong token too")
    func unauditableCallIsRefused() async throws {
        try await withAdminRoute { http, client, runs in
            try await client.query(
                """
                CREATE FUNCTION public.refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'audit log unwritable (test)'; END $$
                """, logger: testLogger("q"))
            try await client.query(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON ops.audit_log FOR EACH ROW EXECUTE FUNCTION public.refuse_audit()",
                logger: testLogger("q"))
            for token in [Self.token, "a-guess"] {
                let response = try await http.execute(
                    uri: "/admin/act", method: .post, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                    body: ByteBuffer(string: #"{"reason":"x"}"#))
                #expect(response.status == .serviceUnavailable, "\(response.status)")
                #expect(String(buffer: response.body).contains("audit_unavailable"))
            }
            #expect(runs.count.load(ordering: .relaxed) == 0, "the call did not run")
        }
    }

    @Test("a failed token guess is audited with its status")
    func failedGuessIsAudited() async throws {
        try await withAdminRoute { http, client, runs in
            let response = try await http.execute(
                uri: "/admin/act", method: .post, headers: [.authorization: "Bearer a-guess", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"reason":"x"}"#))
            #expect(response.status == .forbidden)
            #expect(try await rows(client).map(\.status) == [403])
            #expect(runs.count.load(ordering: .relaxed) == 0)
        }
    }
}

/// How often the admin route ran.
final class RunCount: Sendable {
    let count = Atomic<Int>(0)
}

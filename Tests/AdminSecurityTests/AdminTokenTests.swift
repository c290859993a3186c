import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ServiceHTTP
import ServiceSupport
import Testing

/// The admin token is compared in constant time and correctly for every length: only the token
/// itself opens admin, never the token with something after it or a part of it (issue 22: the
/// length difference was folded into a byte, so the token followed by 256 junk bytes passed).
@Suite("Admin token comparison")
struct AdminTokenTests {
    static let token = "s3cret-admin-token"

    @Test("only the exact token is accepted: the token with 1, 255, 256, 512 or 1,024 bytes after it, a prefix, or another token are refused")
    func onlyTheExactToken() async throws {
        let router = Router()
        router.group("/admin").add(middleware: AdminAuthMiddleware(token: Self.token)).get("ping") { _, _ in "pong" }
        let refused = [1, 255, 256, 257, 512, 1_024].map { Self.token + String(repeating: "x", count: $0) }
            + [String(Self.token.dropLast()), String(Self.token.prefix(1)), "x"]
        try await Application(router: router).test(.router) { http in
            let accepted = try await http.execute(uri: "/admin/ping", method: .get, headers: [.authorization: "Bearer \(Self.token)"])
            #expect(accepted.status == .ok)
            for candidate in refused {
                let response = try await http.execute(uri: "/admin/ping", method: .get, headers: [.authorization: "Bearer \(candidate)"])
                #expect(response.status == .forbidden, "a token of \(candidate.utf8.count) bytes (the real one has \(Self.token.utf8.count)): \(response.status)")
            }
        }
    }
}

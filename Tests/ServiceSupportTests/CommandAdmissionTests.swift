import Foundation
import Hummingbird
import HummingbirdTesting
import ServiceHTTP
import ServiceSupport
import SuiteTesting
import Synchronization
import Testing

@Suite("Command admission")
struct CommandAdmissionTests {
    /// Holds the first `capacity` requests inside the handler until the test lets them go, all at
    /// once; any other passes straight through (so a broken limit fails the test, not hangs it).
    final class Gate: Sendable {
        private let waiting = Mutex<(open: Bool, held: [CheckedContinuation<Void, Never>])>((false, []))
        let capacity: Int

        init(capacity: Int) {
            self.capacity = capacity
        }
        var inside: Int { waiting.withLock { $0.held.count } }

        func pass() async {
            await withCheckedContinuation { continuation in
                let open = waiting.withLock { state in
                    guard !state.open, state.held.count < capacity else { return true }
                    state.held.append(continuation)
                    return false
                }
                if open { continuation.resume() }
            }
        }

        func open() {
            let held = waiting.withLock { state in
                state.open = true
                defer { state.held = [] }
                return state.held
            }
            for continuation in held { continuation.resume() }
        }
    }

    @Test("commands beyond the limit are refused at once with 503 overloaded and Retry-After; the held ones finish, and then there is room again")
    func shedsBeyondTheLimit() async throws {
        let gate = Gate(capacity: 2)
        let router = Router()
        router.group().add(middleware: CommandAdmission(limit: 2)).post("/orders") { _, _ -> String in
            await gate.pass()
            return "placed"
        }
        // The router framework: requests reach the router concurrently (the live test client
        // keeps one connection, and would send the second only after the first answered).
        try await Application(router: router).test(.router) { client in
            async let first = client.execute(uri: "/orders", method: .post) { $0.status }
            async let second = client.execute(uri: "/orders", method: .post) { $0.status }
            do {
                try await waitUntil("two commands held in the handler", timeout: .seconds(10)) { gate.inside == 2 }
                try await client.execute(uri: "/orders", method: .post) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.headers[.retryAfter] == "1")
                    let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                    #expect(body?["error"] as? String == "overloaded")
                }
            } catch {
                // Let the held requests go before leaving: the `async let`s are awaited on the way out.
                gate.open()
                throw error
            }
            gate.open()
            #expect(try await first == .ok)
            #expect(try await second == .ok)
            try await client.execute(uri: "/orders", method: .post) { response in
                #expect(response.status == .ok, "the held commands finished: there is room again")
            }
        }
    }
}

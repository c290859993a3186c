import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceHTTP
import ServiceSupport
import Synchronization
import Testing

/// Every log line written while a request (or a command, or an event) is handled carries the
/// ids of what is being handled, so that grepping a correlation id over the services' logs
/// shows one business transaction's lines; the HTTP edge gives each request its correlation id.
@Suite("Log lines carry the message context")
struct MessageContextLogTests {
    /// A JSON logger whose lines are kept, with the message context's provider (as the services
    /// bootstrap it).
    final class Lines: Sendable {
        private let lines = Mutex<[[String: String]]>([])
        func append(_ line: [String: String]) { lines.withLock { $0.append(line) } }
        func withLock<T: Sendable>(_ body: ([[String: String]]) -> T) -> T { lines.withLock { body($0) } }
    }

    private static func capturingLogger() -> (Logger, Lines) {
        let lines = Lines()
        var handler = JSONLogHandler(label: "test") { line in
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] { lines.append(object) }
        }
        handler.metadataProvider = MessageContext.metadataProvider
        handler.logLevel = .info
        return (Logger(label: "test") { _ in handler }, lines)
    }

    @Test("a line written inside a context has its ids; the inner context keeps the outer's correlation")
    func linesInsideContext() async throws {
        let (logger, lines) = Self.capturingLogger()
        logger.info("outside")
        await MessageContext(correlationID: "corr-1", causationID: "cause-1").run {
            await MessageContext(commandID: "cmd-1", streamID: "order-1").run {
                logger.info("inside")
            }
        }
        let written = lines.withLock { $0 }
        #expect(written.count == 2)
        #expect(written.first?["correlation_id"] == nil)
        let inside = try #require(written.last)
        #expect(inside["correlation_id"] == "corr-1")
        #expect(inside["causation_id"] == "cause-1")
        #expect(inside["command_id"] == "cmd-1")
        #expect(inside["stream_id"] == "order-1")
    }

    @Test("a request's lines carry its X-Correlation-ID (or a new one), the one its handler sees, and a command request is logged")
    func requestLines() async throws {
        let (logger, lines) = Self.capturingLogger()
        let router = Router()
        router.add(middleware: RequestLogMiddleware(logger: logger))
        router.post("/things") { request, _ -> String in
            logger.info("handling")
            return RequestJSON.correlationID(of: request)
        }
        let app = Application(router: router)
        try await app.test(.router) { client in
            let given = try await client.execute(uri: "/things", method: .post, headers: [HTTPField.Name("X-Correlation-ID")!: "corr-given"])
            #expect(String(buffer: given.body) == "corr-given")
            let fresh = try await client.execute(uri: "/things", method: .post)
            let made = String(buffer: fresh.body)
            #expect(!made.isEmpty && made != "corr-given")
            let written = lines.withLock { $0 }
            #expect(written.filter { $0["correlation_id"] == "corr-given" }.map { $0["msg"] } == ["handling", "request handled"])
            #expect(written.filter { $0["correlation_id"] == made }.map { $0["msg"] } == ["handling", "request handled"])
            #expect(written.allSatisfy { $0["causation_id"]?.hasPrefix("http-request:") == true })
        }
    }
}

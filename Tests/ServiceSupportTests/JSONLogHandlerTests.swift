import Foundation
import Logging
import ServiceHTTP
import ServiceSupport
import Synchronization
import Testing

@Suite("JSON log lines")
struct JSONLogHandlerTests {
    @Test("one parseable JSON object per line, with metadata and escaped text")
    func writesParseableLines() throws {
        let lines = Mutex<[String]>([])
        var handler = JSONLogHandler(label: "test") { line in lines.withLock { $0.append(line) } }
        handler.logLevel = .info
        handler[metadataKey: "service"] = "command-service"
        let logger = Logger(label: "test") { _ in handler }
        logger.info("quote \" backslash \\ newline \n tab \t bell \u{7}", metadata: ["orderId": "o-1"])
        logger.debug("filtered out")

        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("}\n"))
        #expect(line.dropLast().contains("\n") == false)
        let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["msg"] == "quote \" backslash \\ newline \n tab \t bell \u{7}")
        #expect(object["level"] == "info")
        #expect(object["service"] == "command-service")
        #expect(object["orderId"] == "o-1")
        #expect(object["ts"]?.hasSuffix("Z") == true)
    }
}

import Foundation
import Testing

/// Every lease of a PostgreSQL connection in the services goes through `LiveConnection.swift`
/// (`withLiveConnection`, `liveTransaction`, `liveQuery`), which races it against the
/// connection's close; a plain PostgresNIO call waits forever when the server closed the
/// connection (see `ClosedConnectionTests`). That test proves the wrapper; this one proves the
/// call sites use it: it reads the sources under `Shared/` and `Services/` and names every
/// `withConnection(`, and every `withTransaction(` or `query(` on a PostgresClient, outside the
/// wrapper (issue 22).
@Suite("Every connection lease is a live one")
struct LiveLeaseLintTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL

    /// Allowed plain calls: the wrapper itself, the benchmarks' baselines (they measure plain
    /// PostgresNIO on purpose), and test support (not service code).
    static let allowed = ["Shared/ServiceSupport/LiveConnection.swift", "Services/SuiteBench/", "Shared/SuiteTesting/"]

    /// Names declared as a PostgresClient (`client: PostgresClient`, `let pool = PostgresClient(`).
    static func clientNames(in text: String) -> Set<String> {
        Set(text.matches(of: #/(\w+)\s*:\s*PostgresClient\b|(\w+)\s*=\s*PostgresClient\(/#).compactMap { match in
            (match.output.1 ?? match.output.2).map(String.init)
        })
    }

    /// Plain leases in `text`, as "line: code": `withConnection` (only a client has it; a call or a trailing closure), and
    /// `withTransaction(` or `query(` on a receiver named like a client (`clients`, gathered
    /// from every source, since a property is often declared in another file).
    static func plainLeases(in text: String, clients: Set<String>) -> [String] {
        var found: [String] = []
        for (index, line) in text.components(separatedBy: "\n").enumerated() {
            let code = line.components(separatedBy: "//").first ?? line
            for match in code.matches(of: #/([A-Za-z_][\w.]*)\.(withTransaction|withConnection|query)\s*[({]/#) {
                let receiver = match.output.1
                let last = String(receiver.split(separator: ".").last ?? receiver)
                if match.output.2 == "withConnection" || clients.contains(last) {
                    found.append("\(index + 1): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        return found
    }

    @Test("no service code leases a connection past LiveConnection.swift")
    func noPlainLeases() throws {
        var sources: [(path: String, text: String)] = []
        for folder in ["Shared", "Services"] {
            let base = Self.root.appendingPathComponent(folder)
            guard let files = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { continue }
            for case let file as URL in files where file.pathExtension == "swift" {
                let path = String(file.standardizedFileURL.path.dropFirst(Self.root.path.count + 1))
                sources.append((path, try String(contentsOf: file, encoding: .utf8)))
            }
        }
        let clients = sources.reduce(into: Set<String>()) { $0.formUnion(Self.clientNames(in: $1.text)) }
        var offenders: [String] = []
        var scanned = 0
        for (path, text) in sources where !Self.allowed.contains(where: { path.hasPrefix($0) }) {
            scanned += 1
            offenders += Self.plainLeases(in: text, clients: clients).map { "\(path):\($0)" }
        }
        #expect(scanned > 50, "the scan found the sources (\(scanned) files under \(Self.root.path))")
        #expect(offenders.isEmpty, "plain PostgresNIO leases (use withLiveConnection / liveTransaction / liveQuery):\n\(offenders.joined(separator: "\n"))")
    }

    @Test("the scan recognises a plain lease on a client, and lets a connection's own transaction pass")
    func scannerRecognisesLeases() {
        let source = """
            struct Store {
                let client: PostgresClient
                func a() async throws { try await client.withTransaction(logger: logger) { _ in } }
                func b() async throws { try await client.liveTransaction(logger: logger) { connection in try await connection.withTransaction(logger: logger) { _ in } } }
                func c() async throws { try await self.client.query("SELECT 1", logger: logger) }
                func d() async throws { try await pool.withConnection { _ in } }
            }
            """
        #expect(Self.clientNames(in: source) == ["client"])
        #expect(Self.plainLeases(in: source, clients: ["client"]).map { $0.prefix(2) } == ["3:", "5:", "6:"])
    }
}

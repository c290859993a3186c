import Foundation
import Testing

@Suite("Event catalog")
struct EventCatalogTests {
    /// Rewrites a stale `docs/events.md` and fails, so a change of an event shows in the catalog
    /// in the same commit (on a clean clone, as in CI, a stale catalog is a failure).
    @Test("docs/events.md is current")
    func catalogIsCurrent() throws {
        let file = SchemaGateTests.repository.appendingPathComponent("docs/events.md")
        let generated = try EventCatalog.markdown { type, version, context in try SchemaGateTests.committedSchema(type, version: version, context: context) }
        let committed = FileManager.default.contents(atPath: file.path).map { String(decoding: $0, as: UTF8.self) }
        if committed != generated {
            try generated.write(to: file, atomically: true, encoding: .utf8)
            Issue.record("docs/events.md was stale; it has been rewritten from the codecs, schemas and read models: commit it")
        }
    }
}

@testable import BoundedContexts
import EventSourcing
import Logging
import PostgresNIO
import Testing

/// A view another context extends still answers when one extension fails: that context's part
/// says it is unavailable, the others are there.
@Suite("View extensions")
struct ViewExtensionTests {
    struct Broken: Error {}

    @Test("a failing extension is marked unavailable; the others and the view stay")
    func failingExtensionIsIsolated() async {
        let client = PostgresClient(configuration: .init(host: "127.0.0.1", username: "none", password: nil, database: nil, tls: .disable))
        let environment = QueryEnvironment(
            client: client, logger: Logger(label: "test"),
            extensions: [
                ("billing", ViewExtension(view: "booking") { _, _, id in .object(["invoice": .string("inv-\(id)")]) }),
                ("cleaning", ViewExtension(view: "booking") { _, _, _ in throw Broken() }),
                ("other", ViewExtension(view: "room") { _, _, _ in .bool(true) }),
            ])
        let fields = await environment.extensions(of: "booking", id: "b-1")
        #expect(fields["billing"] == .object(["invoice": .string("inv-b-1")]))
        #expect(fields["cleaning"] == .object(["unavailable": .bool(true)]))
        #expect(fields["other"] == nil)
    }
}

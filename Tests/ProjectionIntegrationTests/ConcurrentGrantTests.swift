@testable import BoundedContexts
import CheckoutSuite
import Projections
import ReturnsContext
import SuiteTesting
import Testing

/// The three services run the contexts' grants as they start, at the same moment: two GRANTs
/// on one object at once fail in PostgreSQL ("tuple concurrently updated") and stopped a
/// command service in a demo. Under the grants' advisory lock they all succeed.
@Suite("Concurrent grants")
struct ConcurrentGrantTests {
    @Test("the contexts' grants run by many services at once all succeed")
    func concurrentGrants() async throws {
        try await TestDatabase.withFresh { client, _ in
            try await ProjectionSchema.migrate(readModels: ReturnsReadModels.all, roles: CheckoutNames.roles, on: client, logger: testLogger("migrate"))
            let statements = checkoutSuite.contexts.flatMap { $0.grants(CheckoutNames.roles) }
            #expect(!statements.isEmpty)
            for _ in 0..<5 {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<8 { group.addTask { try await SuiteGrants.run(statements, on: client, logger: testLogger("grants")) } }
                    try await group.waitForAll()
                }
            }
        }
    }
}

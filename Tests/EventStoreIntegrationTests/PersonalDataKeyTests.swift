import EventStore
import Foundation
import PostgresNIO
import SuiteTesting
import Testing

/// The key table's own guarantee: one key per subject, gone when forgotten. (Read models keep
/// details sealed and open them when read, so nothing needs to wait for a projector: see
/// `ReadModelSpecificationTests`, "a forgotten customer's details stay hidden whatever order".)
@Suite("Personal data keys")
struct PersonalDataKeyTests {
    @Test("one key per subject, also when placements race to make it; forget deletes it")
    func oneKeyPerSubject() async throws {
        try await withEventStore { store in
            let vault = PersonalDataVault(client: store.client, logger: testLogger("vault"))
            let ids = try await withThrowingTaskGroup(of: UUID.self) { group in
                for _ in 0..<8 { group.addTask { try await vault.sealingKey(for: "c-race").id } }
                return try await group.reduce(into: Set<UUID>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            #expect(try await vault.forget("c-race") == 1)
            #expect(try await vault.keys(ids) == [:])
            #expect(try await vault.sealingKey(for: "c-race").id != ids.first, "a new key after forgetting")
        }
    }
}

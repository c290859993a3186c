import EventStore
import Foundation
import PostgresNIO
import SuiteTesting
import Testing

/// The key table's own guarantees: one key per subject, and forgetting waits for a projection
/// transaction that opened data with the key (else that transaction could commit details after
/// the purge that should have removed them).
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

    @Test("forget waits until a projection transaction that read the key has ended")
    func forgetWaitsForReaders() async throws {
        try await withEventStore { store in
            let logger = testLogger("vault")
            let vault = PersonalDataVault(client: store.client, logger: logger)
            let key = try await vault.sealingKey(for: "c-held")
            let (opened, openedSignal) = AsyncStream<Void>.makeStream()
            let (release, releaseSignal) = AsyncStream<Void>.makeStream()
            let reader = Task {
                try await store.client.liveTransactionUnwrapped(logger: logger) { connection in
                    let keys = try await PersonalDataVault.keys([key.id], on: connection, logger: logger)
                    openedSignal.yield()
                    for await _ in release { break }
                    return keys.count
                }
            }
            for await _ in opened { break }
            let forgetting = Task { try await vault.forget("c-held") }
            try await waitUntil("forget waiting for the reader's lock", timeout: .seconds(30)) {
                try await store.client.query("SELECT count(*)::int8 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted", logger: logger)
                    .collect().first?.decode(Int64.self) == 1
            }
            releaseSignal.yield()
            #expect(try await reader.value == 1, "the reader saw the key")
            #expect(try await forgetting.value == 1, "then forget deleted it")
        }
    }
}

import Checkout
import EventSourcing
import EventStore
import Foundation
import PostgresNIO
import SuiteTesting

/// A migrated event store in a fresh database.
func withEventStore<T: Sendable>(_ body: @Sendable (PostgresEventStore) async throws -> T) async throws -> T {
    try await TestDatabase.withFresh { client, _ in
        let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutTopics.topic(forStreamType:))
        try await store.migrate()
        return try await body(store)
    }
}

func event(_ type: String = "Noted", _ body: String = "{}", correlation: String = "c") -> NewEvent {
    NewEvent(encoded: EncodedEvent(type: type, schemaVersion: 1, payload: Array(body.utf8)), correlationID: correlation)
}

extension AppendOutcome {
    var appended: AppendResult? { if case .appended(let result) = self { result } else { nil } }
}

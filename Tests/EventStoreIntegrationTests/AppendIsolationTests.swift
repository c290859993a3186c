import Checkout
import EventSourcing
import EventStore
import Foundation
import PostgresNIO
import SuiteTesting
import Testing

/// Group commit shares a transaction among appends; one that PostgreSQL refuses must fail
/// alone, and input over the store's limits must never reach a batch.
@Suite("Append isolation in group commit")
struct AppendIsolationTests {
    @Test("an append PostgreSQL refuses fails alone: the nineteen others of its batch commit")
    func refusedAppendFailsAlone() async throws {
        try await withEventStore { store in
            let client = store.client
            try await installInsertPause(client)
            // Both flushers stop inside a write, so the next twenty appends queue up and are
            // taken as one batch when the pause ends.
            let (released, release) = AsyncStream<Void>.makeStream()
            let pause = holdConnection(client, ["SELECT pg_advisory_lock(42)"], until: released, end: "SELECT pg_advisory_unlock(42)")
            try await waitUntil("the pause lock held", timeout: .seconds(10)) {
                try await client.query(
                    "SELECT count(*)::int8 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = 42", logger: testLogger("q")
                ).collect().first.map { try $0.decode(Int64.self) } ?? 0 == 1
            }
            var blockers: [Task<AppendOutcome, any Error>] = []
            for index in 0..<2 {
                blockers.append(Task { try await store.append(to: Order.stream("paused-\(index)"), expected: .noStream, events: [event()]) })
                try await waitUntil("flusher \(index + 1) paused", timeout: .seconds(10)) { try await waitingBackends(client) == index + 1 }
            }
            let appends = (0..<20).map { index in
                Task { () -> Result<AppendOutcome, EventStoreError> in
                    // Not JSON: PostgreSQL refuses the payload's cast (SQLSTATE 22P02).
                    let body = index == 7 ? "not json" : #"{"n":\#(index)}"#
                    do {
                        return .success(try await store.append(to: Order.stream("batch-\(index)"), expected: .noStream, events: [event("Noted", body)]))
                    } catch {
                        return .failure(error as? EventStoreError ?? .database(error))
                    }
                }
            }
            try await waitUntil("the twenty queued behind the paused flushers", timeout: .seconds(10)) { store.queuedAppends == 20 }
            release.yield()
            try await pause.value
            for blocker in blockers { _ = try await blocker.value }
            var failed: [Int] = []
            for (index, append) in appends.enumerated() {
                if case .failure(let error) = await append.value {
                    failed.append(index)
                    #expect(error.sqlState == "22P02" && error.isPermanent, "\(error)")
                }
            }
            #expect(failed == [7], "only the refused append fails")
            let streams = try await client.query(
                "SELECT count(*)::int8 FROM event_store.streams WHERE stream_id LIKE 'order-batch-%'", logger: testLogger("q")
            ).collect().first?.decode(Int64.self)
            #expect(streams == 19, "nothing half-written for the refused one")
        }
    }

    private func refusal(_ append: () async throws -> AppendOutcome) async -> EventStoreError? {
        do {
            _ = try await append()
            return nil
        } catch {
            return error as? EventStoreError
        }
    }

    @Test("stream ids, command ids, payloads over the limits and NUL characters are refused before they join a batch")
    func limitsCheckedUpFront() async throws {
        try await withEventStore { store in
            let longStream = StreamName(category: "stock", id: String(repeating: "S", count: 3000))
            let tooLongStream = await refusal { try await store.append(to: longStream, expected: .noStream, events: [event()]) }
            #expect(tooLongStream?.code == .invalidAppend && tooLongStream?.isPermanent == true)
            let record = CommandRecord(id: String(repeating: "c", count: 3000)) { _ in [] }
            let tooLongCommand = await refusal { try await store.append(to: Order.stream("o"), expected: .noStream, events: [event()], command: record) }
            #expect(tooLongCommand?.code == .invalidAppend)
            let huge = #"{"blob":"\#(String(repeating: "x", count: PostgresEventStore.Limits.maxEventBytes))"}"#
            let tooLarge = await refusal { try await store.append(to: Order.stream("o"), expected: .noStream, events: [event("Noted", huge)]) }
            #expect(tooLarge?.code == .invalidAppend)
            // jsonb refuses a NUL character in a string (SQLSTATE 22P05): in a group commit it
            // would fail the whole statement. An escaped backslash before "u0000" is only text.
            let nul = await refusal { try await store.append(to: Order.stream("o"), expected: .noStream, events: [event("Noted", #"{"reason":"a\u0000b"}"#)]) }
            #expect(nul?.code == .invalidAppend && nul?.reason.contains("NUL") == true, "\(String(describing: nul))")
            let textual = try await store.append(to: Order.stream("text"), expected: .noStream, events: [event("Noted", #"{"reason":"a\\u0000b"}"#)])
            #expect(textual.appended?.nextExpectedVersion == 1)
            let written: [RecordedEvent] = try await store.readAll(after: 0)
            #expect(written.map(\.streamID) == ["order-text"])
        }
    }
}

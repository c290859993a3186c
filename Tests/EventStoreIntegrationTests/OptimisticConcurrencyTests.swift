import Checkout
import EventSourcing
import EventStore
import Foundation
import SuiteTesting
import Synchronization
import Testing

@Suite("Optimistic concurrency")
struct OptimisticConcurrencyTests {
    @Test("32 concurrent writers on one stream: every version exactly once, nothing lost")
    func concurrentWritersOnOneStream() async throws {
        try await withEventStore { store in
            let stream = StreamName(category: "ledger", id: "hot")
            let conflicts = TestCounter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<32 {
                    group.addTask {
                        for entry in 0..<5 {
                            // Read, then append with the version read; on conflict read again.
                            while true {
                                let version = try await store.version(of: stream.description) ?? 0
                                do {
                                    _ = try await store.append(
                                        to: stream, expected: .exact(version), events: [event("Noted", "{\"writer\":\(writer),\"entry\":\(entry)}")])
                                    break
                                } catch let error as EventStoreError where error.code == .wrongExpectedVersion {
                                    #expect(error.actualVersion ?? 0 > version)
                                    conflicts.increment()
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let events = try await store.readStream(stream.description)
            #expect(events.map(\.streamVersion) == Array(1...160))
            let entries = Set(events.map { String(decoding: $0.payload, as: UTF8.self) })
            #expect(entries.count == 160, "an append was lost or doubled")
            #expect(try await store.version(of: stream.description) == 160)
        }
    }

    @Test("losers re-decide: concurrent restocks through the command handler all count or report a conflict")
    func handlerRedecidesOnConflict() async throws {
        try await withEventStore { store in
            let handler = CommandHandler(decider: Stock.decider(sku: "SKU-HOT"), codec: Stock.codec, store: store, maxAttempts: 8)
            let succeeded = TestCounter()
            let conflicted = TestCounter()
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<32 {
                    group.addTask {
                        do {
                            _ = try await handler.handle(.restock(quantity: 1), on: Stock.stream("SKU-HOT"), context: CommandContext(correlationID: "c"))
                            succeeded.increment()
                        } catch {
                            if case CommandError.conflict = error { conflicted.increment() } else { Issue.record("unexpected \(error)") }
                        }
                    }
                }
            }
            let total = succeeded.value + conflicted.value
            #expect(total == 32)
            let (state, version) = try await handler.load(Stock.stream("SKU-HOT"))
            #expect(state.onHand == succeeded.value)
            #expect(version == Int64(succeeded.value))
        }
    }

    @Test("expected no-stream fails on an existing stream with the current version")
    func noStreamConflict() async throws {
        try await withEventStore { store in
            let stream = StreamName(category: "ledger", id: "one")
            _ = try await store.append(to: stream, expected: .noStream, events: [event(), event()])
            await #expect {
                _ = try await store.append(to: stream, expected: .noStream, events: [event()])
            } throws: { error in
                (error as? EventStoreError)?.code == .wrongExpectedVersion && (error as? EventStoreError)?.actualVersion == 2
            }
            let any = try await store.append(to: stream, expected: .any, events: [event()])
            #expect(any.appended?.nextExpectedVersion == 3)
        }
    }

    @Test("a repeated command id returns the first result and appends nothing")
    func idempotentCommand() async throws {
        try await withEventStore { store in
            let stream = StreamName(category: "ledger", id: "idem")
            let record = CommandRecord(id: "cmd-1") { result in Array("{\"version\":\(result.nextExpectedVersion)}".utf8) }
            let first = try await store.append(to: stream, expected: .any, events: [event()], command: record)
            #expect(first.appended?.nextExpectedVersion == 1)
            let second = try await store.append(to: stream, expected: .any, events: [event()], command: record)
            guard case .duplicateCommand(let stored) = second else {
                Issue.record("expected a duplicate, got \(second)")
                return
            }
            #expect(String(decoding: stored, as: UTF8.self).replacingOccurrences(of: " ", with: "") == "{\"version\":1}")
            #expect(try await store.readStream(stream.description).count == 1)
        }
    }

    @Test("the same command id sent 20 times at once appends once; every caller gets the first result")
    func concurrentDuplicateCommands() async throws {
        try await withEventStore { store in
            let stream = StreamName(category: "ledger", id: "dup")
            let record = CommandRecord(id: "cmd-dup") { result in Array("{\"version\":\(result.nextExpectedVersion)}".utf8) }
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        switch try await store.append(to: stream, expected: .noStream, events: [event()], command: record) {
                        case .appended(let result): return "appended \(result.nextExpectedVersion)"
                        case .duplicateCommand(let stored): return String(decoding: stored, as: UTF8.self).replacingOccurrences(of: " ", with: "")
                        }
                    }
                }
                var all: [String] = []
                for try await outcome in group { all.append(outcome) }
                return all
            }
            #expect(outcomes.filter { $0 == "appended 1" }.count == 1)
            #expect(outcomes.filter { $0 == "{\"version\":1}" }.count == 19)
            #expect(try await store.readStream(stream.description).count == 1)
        }
    }

    @Test("appends to many streams at once, some with stale versions: the stale ones conflict, the rest commit")
    func mixedBatch() async throws {
        try await withEventStore { store in
            for index in 0..<50 {
                _ = try await store.append(to: StreamName(category: "ledger", id: "m\(index)"), expected: .noStream, events: [event()])
            }
            let results = await withTaskGroup(of: (Int, Bool).self) { group in
                for index in 0..<50 {
                    group.addTask {
                        // Even streams are appended with the right version, odd ones with a stale one.
                        let expected: Int64 = index % 2 == 0 ? 1 : 0
                        do {
                            _ = try await store.append(to: StreamName(category: "ledger", id: "m\(index)"), expected: .exact(expected), events: [event(), event()])
                            return (index, true)
                        } catch {
                            return (index, false)
                        }
                    }
                }
                var all: [Int: Bool] = [:]
                for await (index, ok) in group { all[index] = ok }
                return all
            }
            for index in 0..<50 {
                #expect(results[index] == (index % 2 == 0), "stream m\(index)")
                let version = try await store.version(of: "ledger-m\(index)")
                #expect(version == (index % 2 == 0 ? 3 : 1))
            }
        }
    }
}

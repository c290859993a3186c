import CheckoutSuite
import Checkout
import EventStore
import Foundation
import Kafka
import PostgresNIO
import SuiteTesting
import Synchronization
import Testing

/// A paused relay leader (SIGSTOP, a frozen VM) keeps its connection open: with an advisory
/// lock on that session its standbys waited forever and the outbox stopped. With a fenced
/// lease, a standby takes over once the lease expires, and the paused leader, resumed, finds
/// the lease gone and neither sends nor marks (issue 22).
@Suite("Relay leadership survives a paused leader")
struct RelayLeadershipTests {
    private func settings() -> OutboxSettings {
        var settings = OutboxSettings()
        settings.batchSize = 100
        settings.idleInterval = .milliseconds(50)
        settings.standbyInterval = .milliseconds(100)
        settings.leaseDuration = .seconds(1)
        return settings
    }

    private func unpublished(_ store: PostgresEventStore) async throws -> Int {
        try await store.client.query("SELECT count(*)::int8 FROM event_store.outbox WHERE published_at IS NULL", logger: testLogger("q"))
            .collect().first.map { Int(try $0.decode(Int64.self)) } ?? -1
    }

    @Test("a leader paused with rows in hand is replaced by a standby within the lease; resumed, it publishes and marks nothing")
    func standbyTakesOverFromPausedLeader() async throws {
        let kafka = try TestKafka()
        try kafka.createSuiteTopics(CheckoutNames.Topics.all)
        try await withEventStore { store in
            let pause = Pause()
            let producer = try kafka.producer()
            let paused = OutboxPublisher(
                source: EventOutbox(), client: store.client, producer: producer, settings: settings(), logger: testLogger("paused-leader"),
                beforeSend: { await pause.hold() })
            let pausedRun = Task { await paused.run() }
            try await waitUntil("the first relay to lead", timeout: .seconds(30)) { paused.leadership.state.isLeading }

            let events = 5
            _ = try await store.append(to: Order.stream("lead-1"), expected: .noStream, events: (1...events).map { event("Noted", "{\"n\":\($0)}") })
            try await waitUntil("the leader to pause with the rows in hand", timeout: .seconds(30)) { pause.isHolding }

            let standby = OutboxPublisher(source: EventOutbox(), client: store.client, producer: producer, settings: settings(), logger: testLogger("standby"))
            let standbyRun = Task { await standby.run() }
            try await waitUntil("the standby to take over and publish (lease 1 s)", timeout: .seconds(10)) {
                let pending = try await unpublished(store)
                return standby.leadership.state.isLeading && pending == 0
            }

            pause.release()
            try await waitUntil("the resumed leader to find its lease gone", timeout: .seconds(10)) {
                pause.released && !paused.leadership.state.isLeading
            }
            #expect(standby.leadership.state.isLeading, "the standby still leads")

            // Five seconds without one record more than the events: only a timeout is the answer.
            do {
                let extra = try await kafka.readAll([CheckoutNames.Topics.orderEvents], timeout: .seconds(5)) { $0.count > events }
                Issue.record("the resumed leader sent its rows again: \(extra.count) records")
            } catch is DeadlineExceeded {}
            let records = try await kafka.readAll([CheckoutNames.Topics.orderEvents]) { $0.count >= events }
            #expect(records.count == events)
            pausedRun.cancel()
            standbyRun.cancel()
            await pausedRun.value
            await standbyRun.value
            await producer.close()
        }
    }
}

/// Holds the first caller until released (the paused leader); later callers pass.
final class Pause: Sendable {
    private struct State {
        var holding = false
        var released = false
        var used = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    var isHolding: Bool { state.withLock { $0.holding } }
    var released: Bool { state.withLock { $0.released } }

    func hold() async {
        guard state.withLock({ state in
            defer { state.used = true }
            return !state.used
        }) else { return }
        await withCheckedContinuation { continuation in
            let resume = state.withLock { state in
                if state.released { return true }
                state.holding = true
                state.waiter = continuation
                return false
            }
            if resume { continuation.resume() }
        }
    }

    func release() {
        let waiter = state.withLock { state in
            state.released = true
            state.holding = false
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}

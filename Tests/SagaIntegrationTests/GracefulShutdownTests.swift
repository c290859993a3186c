import CheckoutSuite
import EventStore
import Foundation
import InvariantChecks
import PostgresNIO
import BoundedContexts
import SuiteTesting
import Synchronization
import Testing

/// SIGTERM in the middle of a burst: every service drains and exits 0 within the documented
/// bound (20 s: the batch in hand, then the group is left and the producer flushed), nothing is
/// left half done, and after a restart every accepted checkout finishes with every invariant
/// holding.
@Suite("Graceful shutdown under load")
struct GracefulShutdownTests {
    static let bound = Duration.seconds(20)

    @Test("SIGTERM to every service during a burst: each exits 0 within 20 s; after a restart every accepted checkout finishes and every invariant holds")
    func drainsUnderLoad() async throws {
        try await TestDatabase.withFresh { client, databaseURL in
            let stack = try await CheckoutStack(databaseURL: databaseURL)
            try await stack.restock("PEN", 1_000)
            let accepted = AcceptedOrders()
            let burst = Task {
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<120 {
                        group.addTask {
                            if let id = try? await stack.placeOrder(customer: "c\(index % 7)", lines: [("PEN", 1)], paymentMethod: "card") {
                                accepted.ids.withLock { $0.append(id) }
                            }
                        }
                    }
                }
            }
            try await waitUntil("the burst is under way", timeout: .seconds(60), every: .milliseconds(10)) {
                accepted.ids.withLock { $0.count } >= 20
            }
            let stopped = await stack.terminateAll(within: Self.bound)
            await burst.value
            #expect(stopped.count == 3)
            for service in stopped {
                #expect(service.cleanly, "\(service.name) did not exit 0 within \(Self.bound) (\(String(format: "%.1f", service.seconds)) s)")
            }

            try await stack.restartCommandAndProjection()
            try await stack.startOrchestrator()
            let orders = accepted.ids.withLock { $0 }
            #expect(orders.count >= 20)
            for order in orders {
                let saga = try await stack.finishedSaga(order, timeout: .seconds(120))
                #expect(saga["state"] as? String == "completed", "\(order): \(saga)")
            }
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            var failing: [CheckResult] = []
            do {
                try await waitUntil("every invariant holds once the services caught up", timeout: .seconds(90), every: .milliseconds(500)) {
                    failing = await InvariantChecker(SuiteInvariants.all(checkoutSuite, store: store, bootstrapServers: stack.kafka.bootstrapServers, allowedParked: 0))
                        .run(CheckContext(client: client, logger: testLogger("check"))).filter { !$0.holds }
                    return failing.isEmpty
                }
            } catch {
                Issue.record("still violated: \(failing.map { "\($0.name): \($0.violations.prefix(3))" })")
            }
            await stack.stop()
        }
    }
}

/// Order ids the command service accepted (201) during the burst.
final class AcceptedOrders: Sendable {
    let ids = Mutex<[String]>([])
}

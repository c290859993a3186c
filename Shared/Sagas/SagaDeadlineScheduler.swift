public import EventSourcing
import Foundation
public import Logging
import Metrics
public import ServiceLifecycle

/// Fires the deadlines stored with saga instances. They live in PostgreSQL, so a deadline set
/// before a crash fires after the restart; `FOR UPDATE SKIP LOCKED` lets several orchestrators
/// share the work without firing one twice.
public struct SagaDeadlineScheduler<Definition: SagaDefinition>: Service {
    let store: SagaStore<Definition>
    let interval: Duration
    let logger: Logger
    private let fired = Counter(label: "saga_deadlines_fired_total")

    public init(store: SagaStore<Definition>, interval: Duration = .milliseconds(250), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let count = try await store.fireDueDeadlines()
                    fired.increment(by: count)
                    if count > 0 { continue }
                } catch {
                    logger.error("saga deadlines failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}

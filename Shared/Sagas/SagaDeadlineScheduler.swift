public import EventSourcing
import Foundation
public import Logging
import Metrics
public import ServiceLifecycle

/// Fires the deadlines stored with saga instances. They live in PostgreSQL, so a deadline set
/// before a crash fires after the restart; `FOR UPDATE SKIP LOCKED` lets several orchestrators
/// share the work without firing one twice. Rate-limited: a round looks at up to `batch`
/// instances and rounds are at least `minimumGap` apart even while deadlines are due, so a
/// burst of deadlines (a stalled participant) cannot take the database from the live work.
public struct SagaDeadlineScheduler<Definition: SagaDefinition>: Service {
    let store: SagaStore<Definition>
    let interval: Duration
    let minimumGap: Duration
    let batch: Int
    let logger: Logger
    private let fired = Counter(label: "saga_deadlines_fired_total")

    public init(
        store: SagaStore<Definition>, interval: Duration = .milliseconds(250), minimumGap: Duration = .milliseconds(50), batch: Int = 100,
        logger: Logger
    ) {
        self.store = store
        self.interval = interval
        self.minimumGap = minimumGap
        self.batch = batch
        self.logger = logger
        // Exported from the start (at 0), so that the dashboard's query has a series to read.
        for reason in ["queued", "consumed_recently"] {
            _ = Counter(label: "saga_deadlines_postponed_total", dimensions: [("saga", store.definition.name), ("reason", reason)])
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var pause = interval
                do {
                    let round = try await store.fireDueDeadlines(limit: batch)
                    fired.increment(by: round.fired)
                    // A full round: more are due; go on after the minimum gap.
                    if round.looked >= batch { pause = minimumGap }
                } catch {
                    logger.error("saga deadlines failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                }
                try? await Task.sleep(for: pause)
            }
        }
    }
}

import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceSupport
import ServiceLifecycle
import Synchronization

/// How many instances of each saga are running, read from `sagas.instances` every `interval`
/// by the command service, plus the starts it admitted since the reading began (their sagas may
/// not exist yet). What `SagaStartAdmission` bounds: the work in flight, not the HTTP requests.
final class RunningSagas: Service, Sendable {
    private let client: PostgresClient
    private let interval: Duration
    private let logger: Logger
    /// Per saga: instances running at the last reading, and the admissions counter's value when
    /// that reading began.
    private let reading = Mutex<[String: (running: Int, admittedBefore: Int)]>([:])
    private let admitted = Mutex<[String: Int]>([:])
    private let readable = Atomic<Bool>(false)
    /// The sagas whose starts are bounded (only their rows are counted: an index lookup each).
    private let watched = Mutex<Set<String>>([])

    init(client: PostgresClient, interval: Duration = .milliseconds(200), logger: Logger) {
        self.client = client
        self.interval = interval
        self.logger = logger
    }

    /// Running instances of `saga` now, as far as this process knows; nil until the table could
    /// be read (the orchestrator has not created it yet, or the role may not read it).
    func running(_ saga: String) -> Int? {
        guard readable.load(ordering: .acquiring) else { return nil }
        let last = reading.withLock { $0[saga] } ?? (running: 0, admittedBefore: 0)
        let since = admitted.withLock { $0[saga] ?? 0 } - last.admittedBefore
        return last.running + since
    }

    func watch(_ saga: String) {
        _ = watched.withLock { $0.insert(saga) }
    }

    /// Counts a start as admitted; `by: -1` gives the place back (the command failed).
    func admit(_ saga: String, by count: Int = 1) {
        admitted.withLock { $0[saga, default: 0] += count }
    }

    /// One reading of `sagas.instances`.
    func refresh() async throws {
        let before = admitted.withLock { $0 }
        let sagas = watched.withLock { Array($0) }
        var counts: [String: Int] = [:]
        for row in try await client.liveQuery(
            "SELECT saga, count(*)::int8 FROM sagas.instances WHERE saga = ANY(\(sagas)) AND status = 'running' GROUP BY saga", logger: logger
        ) {
            let (saga, count) = try row.decode((String, Int64).self)
            counts[saga] = Int(count)
        }
        let named = Set(counts.keys).union(before.keys)
        reading.withLock { reading in
            for saga in named { reading[saga] = (counts[saga] ?? 0, before[saga] ?? 0) }
        }
        for saga in sagas { Gauge(label: "sagas_running", dimensions: [("saga", saga)]).record(counts[saga] ?? 0) }
        readable.store(true, ordering: .releasing)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastComplaint: ContinuousClock.Instant?
            while !Task.isCancelled {
                do {
                    try await self.refresh()
                } catch {
                    // A stale count would only grow with the starts admitted since: unbounded
                    // (as the log says) until a reading succeeds again.
                    self.readable.store(false, ordering: .releasing)
                    if lastComplaint.map({ .now - $0 > .seconds(60) }) ?? true {
                        self.logger.warning(
                            "cannot count running sagas; saga starts are admitted without that bound",
                            metadata: ["error": "\(String(reflecting: error).prefix(300))"])
                        lastComplaint = .now
                    }
                }
                try? await Task.sleep(for: self.interval)
            }
        }
    }
}

import CoreMetrics
import Synchronization

/// A metrics backend for the relay benchmark: counts `outbox_published_total` and keeps the
/// `outbox_publish_delay_seconds` timings in a histogram; every other metric is dropped.
final class RelayMetrics: MetricsFactory, Sendable {
    private struct State {
        var published = 0
        var delays = LatencyRecorder()
    }

    private let state = Mutex(State())

    var published: Int { state.withLock { $0.published } }
    var delays: LatencyRecorder { state.withLock { $0.delays } }

    func resetDelays() { state.withLock { $0.delays = LatencyRecorder() } }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        label == "outbox_published_total" ? PublishedCounter(metrics: self) : NOOPMetricsHandler.instance
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        NOOPMetricsHandler.instance
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        label == "outbox_publish_delay_seconds" ? DelayTimer(metrics: self) : NOOPMetricsHandler.instance
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    fileprivate func add(published count: Int64) { state.withLock { $0.published += Int(count) } }
    fileprivate func add(delay nanoseconds: Int64) { state.withLock { $0.delays.record(.nanoseconds(nanoseconds)) } }
}

private final class PublishedCounter: CounterHandler, Sendable {
    let metrics: RelayMetrics
    init(metrics: RelayMetrics) { self.metrics = metrics }
    func increment(by amount: Int64) { metrics.add(published: amount) }
    func reset() {}
}

private final class DelayTimer: TimerHandler, Sendable {
    let metrics: RelayMetrics
    init(metrics: RelayMetrics) { self.metrics = metrics }
    func recordNanoseconds(_ duration: Int64) { metrics.add(delay: duration) }
}

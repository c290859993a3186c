import ArgumentParser
import CheckoutSuite
import EventSourcing
import EventStore
import Foundation
import Kafka
import Logging
import Metrics
import PostgresNIO
import ServiceSupport

/// The event relay (`OutboxRelay`): a backlog drained from the outbox to Kafka (events/s), and
/// the publish delay from an append's transaction to the broker's acknowledgement at a steady
/// rate (p50/p99, the relay's own `outbox_publish_delay_seconds`). Baseline for the drain, in
/// the same run on the same rows: the simplest batch job doing the same work (read every
/// unpublished row in one query, send them all, mark them all in one UPDATE).
struct RelayBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "relay", abstract: "Outbox relay: backlog drain vs a bulk job, publish delay at a steady rate.")

    @Option(help: "Events in the backlog.") var backlog: Int = 200_000
    @Option(help: "Streams the backlog is spread over.") var streams: Int = 2_000
    @Option(help: "Kafka partitions of the topic.") var partitions: Int = 12
    @Option(help: "Rounds of the drain (alternating suite and baseline).") var rounds: Int = 3
    @Option(help: "Rows the relay reads and sends per round (default: the relay's own).") var batchSize: Int?
    @Option(help: "Events per second appended during the latency phase.") var steadyRate: Int = 1_000
    @Option(help: "Seconds of the latency phase.") var steadySeconds: Int = 10
    @Option(help: "PostgreSQL URL of the cluster to create the benchmark database on (default $DATABASE_URL).") var databaseURL: String?
    @Option(help: "Write results as JSON to this file.") var json: String?

    func validate() throws {
        guard backlog >= 1, streams >= 1, partitions >= 1, rounds >= 1, steadyRate >= 1, steadySeconds >= 1 else {
            throw ValidationError("every count must be at least 1")
        }
    }

    func run() async throws {
        let recorder = RelayMetrics()
        MetricsSystem.bootstrap(recorder)
        let logger = BenchEnvironment.logger(level: .warning)
        let base = try BenchEnvironment.databaseURL(databaseURL)
        let results = try await BenchDatabase.withFresh(baseURL: base, logger: logger) { client in
            try await measure(client: client, recorder: recorder, logger: logger)
        }
        results.forEach { $0.printLine() }
        if let json { try BenchmarkResult.write(results, to: json) }
    }

    static let topic = CheckoutNames.Topics.orderEvents

    private var settings: OutboxSettings {
        var settings = OutboxSettings()
        if let batchSize { settings.batchSize = batchSize }
        return settings
    }

    private func measure(client: PostgresClient, recorder: RelayMetrics, logger: Logger) async throws -> [BenchmarkResult] {
        let store = PostgresEventStore(client: client, logger: logger) { _ in Self.topic }
        try await store.migrate(roles: CheckoutNames.roles)
        let cluster = try KafkaDevCluster(brokers: 1, topics: [.init(name: Self.topic, partitions: partitions)], logger: logger)
        defer { cluster.shutdown() }
        let producer = try KafkaProducer(configuration: .producer(bootstrapServers: cluster.bootstrapServers), logger: logger)
        try await fillBacklog(store)

        var relayRates: [Double] = []
        var baselineRates: [Double] = []
        for _ in 0..<rounds {
            try await resetBacklog(client, logger: logger)
            baselineRates.append(Double(backlog) / (try await bulkJob(client, producer: producer, logger: logger)))
            try await resetBacklog(client, logger: logger)
            relayRates.append(Double(backlog) / (try await relayDrain(client, producer: producer, recorder: recorder, logger: logger)))
        }
        let delay = try await steadyDelay(store, client: client, producer: producer, recorder: recorder, logger: logger)
        await producer.close()

        let relayRate = median(relayRates)
        let baselineRate = median(baselineRates)
        return [
            BenchmarkResult(
                name: "relay", throughput: relayRate, unit: "events/s",
                p50_ms: delay.milliseconds(atPercentile: 50), p99_ms: delay.milliseconds(atPercentile: 99),
                baseline_throughput: baselineRate, ratio: relayRate / baselineRate, rounds: rounds, operations: backlog,
                details: [
                    "backlog": "\(backlog)", "streams": "\(streams)", "partitions": "\(partitions)", "batch_size": "\(settings.batchSize)",
                    "latency": "publish delay (transaction to broker acknowledgement) at \(steadyRate) events/s for \(steadySeconds) s, single-event appends",
                    "baseline": "one query reading every unpublished row, one send of all of them, one UPDATE marking them",
                    "relay_rates": relayRates.map { String(format: "%.0f", $0) }.joined(separator: ","),
                    "baseline_rates": baselineRates.map { String(format: "%.0f", $0) }.joined(separator: ","),
                ])
        ]
    }

    /// The backlog: `streams` streams, their events appended 100 at a time by 16 writers.
    private func fillBacklog(_ store: PostgresEventStore) async throws {
        let perStream = max(1, backlog / streams)
        let payload = Array(#"{"sku":"SKU-1","quantity":1,"orderId":"o-0000000000"}"#.utf8)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    for stream in stride(from: writer, to: streams, by: 16) {
                        var version: Int64 = 0
                        while version < Int64(perStream) {
                            let count = min(100, perStream - Int(version))
                            let events = (0..<count).map { _ in
                                NewEvent(encoded: EncodedEvent(type: "Noted", schemaVersion: 1, payload: payload), correlationID: "bench")
                            }
                            _ = try await store.append(to: StreamName(category: "order", id: "relay-\(stream)"), expected: .exact(version), events: events)
                            version += Int64(count)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func resetBacklog(_ client: PostgresClient, logger: Logger) async throws {
        _ = try await client.query("UPDATE event_store.outbox SET published_at = NULL", logger: logger).collect()
        _ = try await client.query("VACUUM ANALYZE event_store.outbox", logger: logger).collect()
    }

    /// Seconds the relay takes to publish the whole backlog (clock from its start: the leader
    /// election is one advisory lock on an idle database).
    private func relayDrain(_ client: PostgresClient, producer: KafkaProducer, recorder: RelayMetrics, logger: Logger) async throws -> Double {
        let before = recorder.published
        let started = ContinuousClock.now
        let relay = Task { try await OutboxRelay(client: client, producer: producer, logger: logger, configuration: settings).run() }
        while recorder.published - before < backlog { try await Task.sleep(for: .milliseconds(2)) }
        let seconds = (ContinuousClock.now - started).seconds
        relay.cancel()
        _ = try? await relay.value
        return seconds
    }

    /// Seconds the simplest batch job takes for the same work.
    private func bulkJob(_ client: PostgresClient, producer: KafkaProducer, logger: Logger) async throws -> Double {
        let started = ContinuousClock.now
        let rows = try await client.query(
            """
            SELECT \(unescaped: PostgresEventStore.eventColumns), o.topic
            FROM event_store.outbox o JOIN event_store.events e ON e.global_position = o.global_position
            WHERE o.published_at IS NULL ORDER BY o.global_position
            """, logger: logger
        ).collect()
        var positions: [Int64] = []
        var messages: [KafkaOutgoingMessage] = []
        positions.reserveCapacity(rows.count)
        messages.reserveCapacity(rows.count)
        for row in rows {
            let (event, topic) = try PostgresEventStore.recordedEventAndText(from: row)
            positions.append(event.globalPosition)
            messages.append(EventKafkaMapping.message(for: event, topic: topic))
        }
        for result in await producer.send(messages) { _ = try result.get() }
        _ = try await client.query("UPDATE event_store.outbox SET published_at = now() WHERE global_position = ANY(\(positions))", logger: logger)
            .collect()
        return (ContinuousClock.now - started).seconds
    }

    /// The relay running and woken by commits; single-event appends at `steadyRate` (open loop).
    private func steadyDelay(
        _ store: PostgresEventStore, client: PostgresClient, producer: KafkaProducer, recorder: RelayMetrics, logger: Logger
    ) async throws -> LatencyRecorder {
        let relay = Task { try await OutboxRelay(client: client, producer: producer, logger: logger, configuration: settings).run() }
        try await Task.sleep(for: .milliseconds(500))
        recorder.resetDelays()
        let total = steadyRate * steadySeconds
        let interval = Duration.seconds(1) / steadyRate
        let before = recorder.published
        let started = ContinuousClock.now
        let payload = Array(#"{"n":1}"#.utf8)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<total {
                try await Task.sleep(until: started + interval * index, clock: .continuous)
                group.addTask {
                    _ = try await store.append(
                        to: StreamName(category: "order", id: "steady-\(index)"), expected: .noStream,
                        events: [NewEvent(encoded: EncodedEvent(type: "Noted", schemaVersion: 1, payload: payload), correlationID: "bench")])
                }
            }
            try await group.waitForAll()
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while recorder.published - before < total, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        relay.cancel()
        _ = try? await relay.value
        return recorder.delays
    }
}

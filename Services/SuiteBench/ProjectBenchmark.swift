import CheckoutSuite
import ArgumentParser
import Checkout
import CheckoutReadModels
import EventSourcing
import EventStore
import Foundation
import Kafka
import Logging
import PostgresNIO
import Projections
import ServiceSupport

/// Events applied from Kafka to read models with checkpoints (the projection runtime), beside
/// the same read-model writes done by plain SQL (the PostgreSQL limit for those writes), and
/// the time to rebuild the projection from the event store.
struct ProjectBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project", abstract: "Projection throughput from Kafka, and rebuild time from the event store.")

    @Option(help: "Events to project (StockRestocked over --streams SKUs).") var events: Int = 200_000
    @Option(help: "Streams (SKUs).") var streams: Int = 2_000
    @Option(help: "Events of a checkout history to rebuild the stock levels and order summaries from (0 skips the rebuilds).")
    var rebuildEvents: Int = 100_000
    @Option(help: "Records per poll of the projection processor (default: the processor's).") var maxBatch: Int?
    @Option(help: "Kafka partitions.") var partitions: Int = 12
    @Option(help: "PostgreSQL URL of the cluster (default $DATABASE_URL).") var databaseURL: String?
    @Option(help: "Write results as JSON to this file.") var json: String?

    func run() async throws {
        let logger = BenchEnvironment.logger(level: .error)
        let base = try BenchEnvironment.databaseURL(databaseURL)
        let results = try await BenchDatabase.withFresh(baseURL: base, logger: logger) { client in
            try await measure(client: client, logger: logger)
        }
        results.forEach { $0.printLine() }
        if let json { try BenchmarkResult.write(results, to: json) }
    }

    private func restocks(count: Int, streams: Int) -> [RecordedEvent] {
        (0..<count).map { index in
            let sku = "SKU-\(index % streams)"
            return RecordedEvent(
                eventID: UUID(), streamID: "stock-\(sku)", streamType: "stock", streamVersion: Int64(index / streams + 1),
                globalPosition: Int64(index + 1), type: "StockRestocked", schemaVersion: 1, recordedAt: Date(), correlationID: "bench",
                causationID: nil, metadata: [:], payload: Array("{\"sku\":\"\(sku)\",\"quantity\":1}".utf8))
        }
    }

    private func measure(client: PostgresClient, logger: Logger) async throws -> [BenchmarkResult] {
        try await ProjectionSchema.migrate(readModels: CheckoutReadModels.all, roles: CheckoutNames.roles, on: client, logger: logger)
        let cluster = try KafkaDevCluster(brokers: 1, topics: [.init(name: CheckoutNames.Topics.stockEvents, partitions: partitions)], logger: logger)
        defer { cluster.shutdown() }
        let producer = try KafkaProducer(configuration: .producer(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let all = restocks(count: events, streams: streams)
        for start in stride(from: 0, to: all.count, by: 10_000) {
            let chunk = all[start..<min(start + 10_000, all.count)].map { EventKafkaMapping.message(for: $0, topic: CheckoutNames.Topics.stockEvents) }
            for result in await producer.send(Array(chunk)) { _ = try result.get() }
        }
        await producer.close()

        // The runtime: consumer group, per-partition transactions, checkpoints, stream positions.
        var configuration = ProjectionProcessor.Configuration(
            name: "bench", topics: [CheckoutNames.Topics.stockEvents], instanceID: "bench", bootstrapServers: cluster.bootstrapServers)
        configuration.deadLetterTopic = nil
        if let maxBatch { configuration.maxBatch = maxBatch }
        let processor = ProjectionProcessor(
            configuration: configuration, projections: [StockLevelsProjection()], client: client, producer: nil, logger: logger)
        let clock = ContinuousClock()
        let running = Task { try await processor.run() }
        // The clock starts at the first assignment: the mock cluster's group join is not ours.
        while processor.status.ownedPartitions.isEmpty { try await Task.sleep(for: .milliseconds(1)) }
        let started = clock.now
        while try await sum(client, "SELECT coalesce(sum(on_hand), 0)::int8 FROM read_models.stock_levels") < Int64(events) {
            try await Task.sleep(for: .milliseconds(5))
        }
        let runtimeSeconds = (clock.now - started).seconds
        running.cancel()
        _ = try? await running.value

        let rawSeconds = try await baseline(all, client: client, logger: logger)
        var results = [
            BenchmarkResult(
                name: "project", throughput: Double(events) / runtimeSeconds, unit: "events/s", p50_ms: 0, p99_ms: 0,
                baseline_throughput: Double(events) / rawSeconds, ratio: rawSeconds / runtimeSeconds, rounds: 1, operations: events,
                details: [
                    "partitions": "\(partitions)", "streams": "\(streams)", "max_batch": "\(configuration.maxBatch)",
                    "baseline": "the same rows: batches of \(Self.baselineBatch) folded per SKU, one unnest upsert per transaction, one writer per partition",
                ])
        ]
        if rebuildEvents > 0 {
            results += try await RebuildBenchmark(events: rebuildEvents, client: client, logger: logger).run()
        }
        return results
    }

    static let baselineBatch = 1_000

    /// The best plain SQL for the same rows: each partition's events (as Kafka splits them, by
    /// SKU) folded per SKU in batches, one set-based upsert per batch in its own transaction, a
    /// writer per partition. No Kafka, no decoding, no checkpoints or stream positions.
    private func baseline(_ all: [RecordedEvent], client: PostgresClient, logger: Logger) async throws -> Double {
        _ = try await client.query(
            "CREATE TABLE public.baseline_stock (LIKE read_models.stock_levels INCLUDING ALL)", logger: logger
        ).collect()
        let writers = partitions
        let clock = ContinuousClock()
        let started = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                let mine = all.filter { abs($0.streamID.hashValue) % writers == writer }
                group.addTask {
                    for start in stride(from: 0, to: mine.count, by: Self.baselineBatch) {
                        var onHand: [String: Int64] = [:]
                        for event in mine[start..<min(start + Self.baselineBatch, mine.count)] {
                            onHand[String(event.streamID.dropFirst("stock-".count)), default: 0] += 1
                        }
                        let skus = onHand.keys.sorted()
                        let quantities = skus.map { onHand[$0] ?? 0 }
                        _ = try await client.query(
                            """
                            INSERT INTO public.baseline_stock AS s (sku, on_hand, reserved, updated_at)
                            SELECT sku, q, 0, now() FROM unnest(\(skus)::text[], \(quantities)::int8[]) AS u(sku, q)
                            ON CONFLICT (sku) DO UPDATE SET on_hand = s.on_hand + EXCLUDED.on_hand, updated_at = EXCLUDED.updated_at
                            """, logger: logger
                        ).collect()
                    }
                }
            }
            try await group.waitForAll()
        }
        return (clock.now - started).seconds
    }

    private func sum(_ client: PostgresClient, _ sql: String) async throws -> Int64 {
        try await client.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "q")).collect().first.map { try $0.decode(Int64.self) } ?? 0
    }
}

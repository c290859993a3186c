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

    @Option(help: "Events to project (StockRestocked over --streams SKUs).") var events: Int = 50_000
    @Option(help: "Streams (SKUs).") var streams: Int = 2_000
    @Option(help: "Events to rebuild from the event store (0 skips the rebuild).") var rebuildEvents: Int = 100_000
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
        try await ProjectionSchema.migrator(adding: ReadModelSchema.migrations).run(on: client, logger: logger)
        let cluster = try KafkaDevCluster(brokers: 1, topics: [.init(name: "checkout.stock.events", partitions: partitions)], logger: logger)
        defer { cluster.shutdown() }
        let producer = try KafkaProducer(configuration: .producer(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let all = restocks(count: events, streams: streams)
        for start in stride(from: 0, to: all.count, by: 10_000) {
            let chunk = all[start..<min(start + 10_000, all.count)].map { EventKafkaMapping.message(for: $0, topic: "checkout.stock.events") }
            for result in await producer.send(Array(chunk)) { _ = try result.get() }
        }
        await producer.close()

        // The runtime: consumer group, per-partition transactions, checkpoints, stream positions.
        var configuration = ProjectionProcessor.Configuration(
            name: "bench", topics: ["checkout.stock.events"], instanceID: "bench", bootstrapServers: cluster.bootstrapServers)
        configuration.deadLetterTopic = nil
        let processor = ProjectionProcessor(
            configuration: configuration, projections: [StockLevelsProjection()], client: client, producer: nil, logger: logger)
        let clock = ContinuousClock()
        let started = clock.now
        let running = Task { try await processor.run() }
        while try await sum(client, "SELECT coalesce(sum(on_hand), 0)::int8 FROM read_models.stock_levels") < Int64(events) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let runtimeSeconds = seconds(clock.now - started)
        running.cancel()
        _ = try? await running.value

        // The PostgreSQL limit for the same writes: the same upserts, batched 500 per transaction,
        // one writer per partition's worth of concurrency, no Kafka, no bookkeeping.
        _ = try await client.query("CREATE TABLE bench_stock (sku text PRIMARY KEY, on_hand bigint NOT NULL, reserved bigint NOT NULL, updated_at timestamptz)", logger: logger).collect()
        let writers = min(partitions, 8)
        let rawStarted = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                // Each writer owns a set of SKUs, as a partition does (no shared rows, no deadlocks).
                let mine = all.indices.filter { ($0 % streams) % writers == writer }.map { all[$0] }
                group.addTask {
                    for start in stride(from: 0, to: mine.count, by: 500) {
                        let slice = mine[start..<min(start + 500, mine.count)]
                        _ = try await client.withTransaction(logger: logger) { connection in
                            for event in slice {
                                let sku = String(event.streamID.dropFirst("stock-".count))
                                _ = try await connection.query(
                                    """
                                    INSERT INTO bench_stock AS s (sku, on_hand, reserved, updated_at) VALUES (\(sku), 1, 0, now())
                                    ON CONFLICT (sku) DO UPDATE SET on_hand = s.on_hand + 1, updated_at = now()
                                    """, logger: logger
                                ).collect()
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let rawSeconds = seconds(clock.now - rawStarted)
        var results = [
            BenchmarkResult(
                name: "project", throughput: Double(events) / runtimeSeconds, unit: "events/s", p50_ms: 0, p99_ms: 0,
                baseline_throughput: Double(events) / rawSeconds, ratio: rawSeconds / runtimeSeconds, rounds: 1, operations: events,
                details: ["partitions": "\(partitions)", "streams": "\(streams)", "baseline": "same upserts, 500 per transaction, \(writers) writers"])
        ]

        if rebuildEvents > 0 {
            let store = PostgresEventStore(client: client, logger: logger) { _ in "checkout.stock.events" }
            try await store.migrate()
            let source = restocks(count: rebuildEvents, streams: streams)
            var byStream: [String: [RecordedEvent]] = [:]
            for event in source { byStream[event.streamID, default: []].append(event) }
            for (stream, streamEvents) in byStream {
                guard let name = StreamName(stream) else { continue }
                for start in stride(from: 0, to: streamEvents.count, by: 500) {
                    let slice = streamEvents[start..<min(start + 500, streamEvents.count)]
                    _ = try await store.append(
                        to: name, expected: .exact(Int64(start)),
                        events: slice.map { NewEvent(encoded: $0.encoded, correlationID: "bench") })
                }
            }
            _ = try await client.query("DELETE FROM event_store.outbox", logger: logger).collect()
            let rebuildStarted = clock.now
            _ = try await ProjectionRebuilder(projection: StockLevelsProjection(), store: store, logger: logger).rebuild()
            let rebuildSeconds = seconds(clock.now - rebuildStarted)
            results.append(
                BenchmarkResult(
                    name: "project.rebuild", throughput: Double(rebuildEvents) / rebuildSeconds, unit: "events/s", p50_ms: 0, p99_ms: 0,
                    baseline_throughput: Double(events) / rawSeconds, ratio: (Double(rebuildEvents) / rebuildSeconds) / (Double(events) / rawSeconds),
                    rounds: 1, operations: rebuildEvents,
                    details: ["seconds": String(format: "%.1f", rebuildSeconds), "events": "\(rebuildEvents)"]))
        }
        return results
    }

    private func sum(_ client: PostgresClient, _ sql: String) async throws -> Int64 {
        try await client.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "q")).collect().first.map { try $0.decode(Int64.self) } ?? 0
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

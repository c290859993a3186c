import CheckoutSuite
import ArgumentParser
import EventSourcing
import EventStore
import Foundation
import Kafka
import Logging
import Tracing
import PostgresNIO
import ServiceSupport

/// Appends through the event store (expected-version check, events and outbox rows in one
/// transaction, group commit) against the same work done the simple way: one transaction per
/// append on the same schema (positions reserved, the version checked, events and outbox rows
/// inserted), with the same number of concurrent writers, in the same database. One
/// autocommitted INSERT per event into a bare table is reported beside them for scale.
struct AppendBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "append", abstract: "Event store appends vs raw INSERTs.")

    @Option(help: "Concurrent writers.") var writers: Int = 16
    @Option(help: "Streams per writer (each writer owns its streams, as in a partitioned service).") var streamsPerWriter: Int = 50
    @Option(help: "Appends per writer per round.") var appendsPerWriter: Int = 500
    @Option(help: "Events per append.") var eventsPerAppend: Int = 1
    @Option(help: "Rounds (alternating suite and baseline).") var rounds: Int = 3
    @Option(help: "PostgreSQL URL of the cluster to create the benchmark database on (default $DATABASE_URL).") var databaseURL: String?
    @Option(help: "Write results as JSON to this file.") var json: String?

    func validate() throws {
        guard writers >= 1, streamsPerWriter >= 1, appendsPerWriter >= 1, eventsPerAppend >= 1, rounds >= 1 else {
            throw ValidationError("every count must be at least 1")
        }
    }

    func run() async throws {
        let logger = BenchEnvironment.logger(level: .warning)
        let base = try BenchEnvironment.databaseURL(databaseURL)
        let exporter = try BenchTracing.start("suite-bench")
        defer { exporter?.cancel() }
        let result = try await BenchDatabase.withFresh(baseURL: base, logger: logger) { client in
            try await measure(client: client, logger: logger)
        }
        result.forEach { $0.printLine() }
        if let json { try BenchmarkResult.write(result, to: json) }
    }

    private func measure(client: PostgresClient, logger: Logger) async throws -> [BenchmarkResult] {
        let store = PostgresEventStore(client: client, logger: logger) { "bench.\($0).events" }
        try await store.migrate(roles: CheckoutNames.roles)
        _ = try await client.query(
            """
            CREATE TABLE bench_raw (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream_id text NOT NULL, version bigint NOT NULL,
                event_type text NOT NULL, payload jsonb NOT NULL, UNIQUE (stream_id, version))
            """, logger: logger
        ).collect()
        let payload = #"{"sku":"SKU-1","quantity":1,"orderId":"o-0000000000"}"#
        var suiteRates: [Double] = []
        var baselineRates: [Double] = []
        var sameSchemaRates: [Double] = []
        var suiteLatency = LatencyRecorder()
        var baselineLatency = LatencyRecorder()
        var sameSchemaLatency = LatencyRecorder()
        let events = writers * appendsPerWriter * eventsPerAppend
        let eventsPerAppend = self.eventsPerAppend
        for round in 0..<rounds {
            let sameSchema = try await runWriters(round: round) { writer, stream, version in
                try await Self.appendOneTransaction(
                    client: client, stream: "base-\(stream)", expected: version, count: eventsPerAppend, payload: payload, logger: logger)
            }
            sameSchemaRates.append(Double(events) / sameSchema.seconds)
            sameSchemaLatency.add(sameSchema.latency)

            let baseline = try await runWriters(round: round) { writer, stream, version in
                for offset in 0..<Int64(eventsPerAppend) {
                    _ = try await client.query(
                        "INSERT INTO bench_raw (stream_id, version, event_type, payload) VALUES (\(stream), \(version + offset + 1), 'Noted', \(payload)::jsonb)",
                        logger: logger
                    ).collect()
                }
            }
            baselineRates.append(Double(events) / baseline.seconds)
            baselineLatency.add(baseline.latency)

            let suite = try await runWriters(round: round) { writer, stream, version in
                // As a command does it: the append in a span whose context the events store
                // (no-ops with no tracer; `scripts/bench-tracing` measures both).
                try await withSpan("command bench") { span in
                    let trace = TraceHeaders.of(span.context)
                    let batch = (0..<eventsPerAppend).map { _ in
                        NewEvent(
                            encoded: EncodedEvent(type: "Noted", schemaVersion: 1, payload: Array(payload.utf8)), correlationID: "bench", metadata: trace)
                    }
                    _ = try await store.append(to: StreamName(category: "bench", id: stream), expected: .exact(version), events: batch)
                }
            }
            suiteRates.append(Double(events) / suite.seconds)
            suiteLatency.add(suite.latency)
        }
        let baselineRate = median(baselineRates)
        let sameSchemaRate = median(sameSchemaRates)
        let suiteRate = median(suiteRates)
        let details = [
            "writers": "\(writers)", "events_per_append": "\(eventsPerAppend)", "appends_per_writer": "\(appendsPerWriter)",
            "streams": "\(writers * streamsPerWriter)",
        ]
        return [
            BenchmarkResult(
                name: "append", throughput: suiteRate, unit: "events/s", p50_ms: suiteLatency.milliseconds(atPercentile: 50),
                p99_ms: suiteLatency.milliseconds(atPercentile: 99), baseline_throughput: sameSchemaRate, ratio: suiteRate / sameSchemaRate,
                rounds: rounds, operations: events * rounds,
                details: details.merging([
                    "baseline": "the same schema, one transaction per append (positions reserved, version checked, events and outbox rows inserted)",
                    "baseline_p50_ms": String(format: "%.2f", sameSchemaLatency.milliseconds(atPercentile: 50)),
                    "baseline_p99_ms": String(format: "%.2f", sameSchemaLatency.milliseconds(atPercentile: 99)),
                ]) { $1 }),
            BenchmarkResult(
                name: "append.baseline.raw-insert", throughput: baselineRate, unit: "events/s",
                p50_ms: baselineLatency.milliseconds(atPercentile: 50), p99_ms: baselineLatency.milliseconds(atPercentile: 99),
                baseline_throughput: nil, ratio: nil, rounds: rounds, operations: events * rounds, details: details),
        ]
    }

    /// One append as a plain transaction on the event store's schema: BEGIN, positions, the
    /// version check (create or move the stream row), events and outbox rows, COMMIT.
    static func appendOneTransaction(
        client: PostgresClient, stream: String, expected: Int64, count: Int, payload: String, logger: Logger
    ) async throws {
        try await client.withTransaction(logger: logger) { connection in
            let first = try await connection.query("SELECT event_store.reserve_positions(\(Int32(count)))", logger: logger).collect()
                .first?.decode(Int64.self) ?? 0
            let moved = try await connection.query(
                expected == 0
                    ? "INSERT INTO event_store.streams (stream_id, stream_type, version) VALUES (\(stream), 'bench', \(Int64(count))) ON CONFLICT DO NOTHING RETURNING version"
                    : "UPDATE event_store.streams SET version = version + \(Int64(count)), updated_at = now() WHERE stream_id = \(stream) AND version = \(expected) RETURNING version",
                logger: logger
            ).collect()
            guard !moved.isEmpty else { throw ValidationError("baseline append to \(stream) conflicted") }
            let positions = (0..<Int64(count)).map { first + $0 }
            let versions = (0..<Int64(count)).map { expected + $0 + 1 }
            _ = try await connection.query(
                """
                WITH inserted AS (
                    INSERT INTO event_store.events (global_position, event_id, stream_id, stream_type, stream_version, event_type,
                                                    schema_version, payload, metadata, correlation_id)
                    SELECT p, gen_random_uuid(), \(stream), 'bench', v, 'Noted', 1, \(payload)::jsonb, '{}'::jsonb, 'bench'
                    FROM unnest(\(positions)::int8[], \(versions)::int8[]) AS e(p, v)
                    RETURNING global_position
                )
                INSERT INTO event_store.outbox (global_position, stream_id, topic)
                SELECT global_position, \(stream), 'bench.events' FROM inserted
                """, logger: logger
            ).collect()
        }
    }

    /// Runs every writer over its own streams; returns the wall time and per-append latencies.
    private func runWriters(
        round: Int, _ append: @escaping @Sendable (Int, String, Int64) async throws -> Void
    ) async throws -> (seconds: Double, latency: LatencyRecorder) {
        let clock = ContinuousClock()
        let start = clock.now
        let streamsPerWriter = self.streamsPerWriter
        let appendsPerWriter = self.appendsPerWriter
        let eventsPerAppend = Int64(self.eventsPerAppend)
        let latency = try await withThrowingTaskGroup(of: LatencyRecorder.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var recorder = LatencyRecorder()
                    var versions = [Int64](repeating: 0, count: streamsPerWriter)
                    for index in 0..<appendsPerWriter {
                        let slot = index % streamsPerWriter
                        let stream = "r\(round)-w\(writer)-s\(slot)"
                        let began = clock.now
                        try await append(writer, stream, versions[slot])
                        recorder.record(clock.now - began)
                        versions[slot] += eventsPerAppend
                    }
                    return recorder
                }
            }
            var total = LatencyRecorder()
            for try await recorder in group { total.add(recorder) }
            return total
        }
        let elapsed = clock.now - start
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, latency)
    }
}

/// A throwaway database for one benchmark run, dropped afterwards.
enum BenchDatabase {
    static func withFresh<T: Sendable>(baseURL: String, logger: Logger, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await withFreshDatabase(baseURL: baseURL, logger: logger) { client, _ in try await body(client) }
    }

    /// A fresh database, with its URL (for child processes).
    static func withFreshDatabase<T: Sendable>(
        baseURL: String, logger: Logger, _ body: @Sendable (PostgresClient, String) async throws -> T
    ) async throws -> T {
        let name = "bench_\(UUID().uuidString.prefix(8).lowercased())"
        try await withClient(baseURL, logger: logger) { admin in
            _ = try await admin.query("CREATE DATABASE \(unescaped: name)", logger: logger).collect()
        }
        guard var components = URLComponents(string: baseURL) else { throw ValidationError("cannot parse the database URL") }
        components.path = "/" + name
        let drop: @Sendable () async -> Void = {
            try? await withClient(baseURL, logger: logger) { admin in
                _ = try await admin.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: logger).collect()
            }
        }
        do {
            let url = components.string ?? baseURL
            let result = try await withClient(url, logger: logger) { client in try await body(client, url) }
            await drop()
            return result
        } catch {
            await drop()
            throw error
        }
    }

    static func withClient<T: Sendable>(_ url: String, logger: Logger, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        var configuration = try DatabaseURL(url).clientConfiguration
        configuration.options.maximumConnections = 40
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

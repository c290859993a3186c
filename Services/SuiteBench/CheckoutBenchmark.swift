import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Whole checkouts through the running suite (command service, projection service and saga
/// orchestrator as separate processes, e.g. `scripts/stack up`): an open-loop load of orders at
/// a fixed rate, each timed from `POST /orders` until its saga is completed. The baseline, at
/// the same offered rate in the same run, is `POST /orders` alone: what the saga's three steps
/// through Kafka add to accepting an order.
struct CheckoutBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkout", abstract: "Completed checkouts/s and latency to the saga's end, vs placing orders alone.")

    @Option(help: "Command service URL (default $COMMAND_SERVICE_URL, else http://127.0.0.1:8081).") var commandURL: String?
    @Option(help: "Saga orchestrator URL (default $SAGA_ORCHESTRATOR_URL, else http://127.0.0.1:8083).") var sagaURL: String?
    @Option(help: "Offered load: orders started per second.") var rate: Int = 20
    @Option(help: "Seconds of load per phase.") var seconds: Int = 20
    @Option(help: "How often a pending saga is looked at, in milliseconds (the latency's resolution).") var pollMilliseconds: Int = 25
    @Option(help: "Write results as JSON to this file.") var json: String?

    func validate() throws {
        guard (1...2_000).contains(rate) else { throw ValidationError("--rate must be from 1 to 2000 orders per second") }
        guard (1...3_600).contains(seconds) else { throw ValidationError("--seconds must be from 1 to 3600") }
        guard (1...1_000).contains(pollMilliseconds) else { throw ValidationError("--poll-milliseconds must be from 1 to 1000") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let client = BenchHTTP(
            commandURL: commandURL ?? environment["COMMAND_SERVICE_URL"] ?? "http://127.0.0.1:8081",
            sagaURL: sagaURL ?? environment["SAGA_ORCHESTRATOR_URL"] ?? "http://127.0.0.1:8083")
        let skus = (1...50).map { "BENCH-\($0)" }
        for sku in skus { try await client.restock(sku, quantity: 1_000_000) }
        print("offered load: \(rate) orders/s for \(seconds) s per phase")

        let baseline = try await load { index in
            let start = ContinuousClock.now
            _ = try await client.placeOrder(sku: skus[index % skus.count])
            return ContinuousClock.now - start
        }
        let checkouts = try await load { index in
            let start = ContinuousClock.now
            let orderID = try await client.placeOrder(sku: skus[index % skus.count])
            try await client.waitForSaga(orderID, every: .milliseconds(pollMilliseconds))
            return ContinuousClock.now - start
        }
        let result = BenchmarkResult(
            name: "checkout", throughput: checkouts.throughput, unit: "checkouts/s",
            p50_ms: checkouts.latencies.milliseconds(atPercentile: 50), p99_ms: checkouts.latencies.milliseconds(atPercentile: 99),
            baseline_throughput: baseline.throughput, ratio: checkouts.throughput / baseline.throughput, rounds: 1,
            operations: checkouts.completed,
            details: [
                "offered_rate": "\(rate)", "failed": "\(checkouts.failed)",
                "baseline": "POST /orders alone: p50 \(String(format: "%.2f", baseline.latencies.milliseconds(atPercentile: 50))) ms, p99 \(String(format: "%.2f", baseline.latencies.milliseconds(atPercentile: 99))) ms",
                "poll_resolution_ms": "\(pollMilliseconds)",
            ])
        result.printLine()
        print("  baseline: \(result.details["baseline"] ?? ""); failed checkouts: \(checkouts.failed)")
        if let json { try BenchmarkResult.write([result], to: json) }
        if checkouts.failed > 0 { throw ExitCode(1) }
    }

    struct Phase {
        var latencies = LatencyRecorder()
        var completed = 0
        var failed = 0
        var elapsed: Duration = .zero

        var throughput: Double {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return seconds > 0 ? Double(completed) / seconds : 0
        }
    }

    /// Starts `operation` `rate` times a second for `seconds` (open loop: a slow answer does not
    /// slow the offered load), and waits for all of them.
    private func load(_ operation: @escaping @Sendable (Int) async throws -> Duration) async throws -> Phase {
        let interval = Duration.seconds(1) / rate
        let total = rate * seconds
        let start = ContinuousClock.now
        var phase = Phase()
        await withTaskGroup(of: Duration?.self) { group in
            for index in 0..<total {
                try? await Task.sleep(until: start + interval * index, clock: .continuous)
                group.addTask { try? await operation(index) }
            }
            for await latency in group {
                if let latency {
                    phase.latencies.record(latency)
                    phase.completed += 1
                } else {
                    phase.failed += 1
                }
            }
        }
        phase.elapsed = ContinuousClock.now - start
        return phase
    }
}

/// The few HTTP calls the benchmark makes.
struct BenchHTTP: Sendable {
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    let commandURL: String
    let sagaURL: String
    let client = HTTPClient.shared

    func restock(_ sku: String, quantity: Int) async throws {
        let (status, body) = try await send("POST", "\(commandURL)/stock/\(sku)/restock", body: "{\"quantity\":\(quantity)}")
        guard (200..<300).contains(status) else { throw Failed(description: "restock \(sku): \(status) \(body)") }
    }

    func placeOrder(sku: String) async throws -> String {
        let body = #"{"customerId":"bench","lines":[{"sku":"\#(sku)","quantity":1,"unitPriceCents":500}],"paymentMethod":"card"}"#
        let (status, text) = try await send("POST", "\(commandURL)/orders", body: body)
        guard status == 201, let data = text.data(using: .utf8),
            let id = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["orderId"] as? String
        else { throw Failed(description: "place order: \(status) \(text)") }
        return id
    }

    /// Waits until the saga is completed (any other end is a failed checkout).
    func waitForSaga(_ orderID: String, every interval: Duration) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let (status, text) = try await send("GET", "\(sagaURL)/sagas/\(orderID)", body: nil)
            if status == 200, let data = text.data(using: .utf8),
                let state = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["state"] as? String
            {
                if state == "completed" { return }
                if state != "running" { throw Failed(description: "saga \(orderID) ended \(state)") }
            }
            try await Task.sleep(for: interval)
        }
        throw Failed(description: "saga \(orderID) did not finish in 120 s")
    }

    private func send(_ method: String, _ url: String, body: String?) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }
}

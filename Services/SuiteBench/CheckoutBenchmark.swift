import ArgumentParser
import Foundation
import JSONClient
import Logging
import PostgresNIO

/// Whole checkouts through the running suite (command service, projection service and saga
/// orchestrator as separate processes, e.g. `scripts/stack up`): for each offered rate, an open
/// loop of orders for `seconds`, then every saga of the phase drained before the next. Latency
/// comes from the servers' own timestamps in PostgreSQL (saga started to completed, and order
/// placed to saga completed), not from polling the API. Sustained throughput is the checkouts
/// completed within the phase per second; the baseline is the offered rate (ratio 1 keeps up).
/// Peak RSS of every process comes from the stack's pids file.
struct CheckoutBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkout", abstract: "Completed checkouts/s and their latency at offered rates, from server timestamps.")

    @Option(help: "Command service URL (default $COMMAND_SERVICE_URL, else http://127.0.0.1:8081).") var commandURL: String?
    @Option(help: "Offered rates, orders started per second, comma-separated.") var rates = "50,100,200,300,400"
    @Option(help: "One offered rate (instead of --rates).") var rate: Int?
    @Option(help: "Seconds of load per rate.") var seconds: Int = 20
    @Option(help: "Seconds a phase's sagas may take to drain before the next rate.") var drainSeconds: Int = 120
    @Option(help: "PostgreSQL URL of the suite's database (default $DATABASE_URL).") var databaseURL: String?
    @Option(help: "The stack's pids file (`scripts/stack` writes it), for every process's peak RSS.") var pidsFile: String?
    @Option(help: "Write results as JSON to this file.") var json: String?

    var offeredRates: [Int] {
        if let rate { return [rate] }
        return rates.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    func validate() throws {
        guard !offeredRates.isEmpty, offeredRates.allSatisfy({ (1...2_000).contains($0) }) else {
            throw ValidationError("--rates/--rate must be orders per second from 1 to 2000")
        }
        guard (1...3_600).contains(seconds) else { throw ValidationError("--seconds must be from 1 to 3600") }
        guard (1...3_600).contains(drainSeconds) else { throw ValidationError("--drain-seconds must be from 1 to 3600") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let http = BenchHTTP(commandURL: commandURL ?? environment["COMMAND_SERVICE_URL"] ?? "http://127.0.0.1:8081")
        defer { http.shutdown() }
        let logger = BenchEnvironment.logger(level: .warning)
        let url = try BenchEnvironment.databaseURL(databaseURL)
        let pids = StackProcesses(file: pidsFile)
        let skus = (1...50).map { "BENCH-\($0)" }
        for sku in skus { try await http.restock(sku, quantity: 1_000_000) }
        let results = try await BenchDatabase.withClient(url, logger: logger) { client in
            var results: [BenchmarkResult] = []
            let timestamps = SagaTimestamps(client: client, logger: logger)
            for rate in offeredRates {
                let cpuBefore = pids.cpuSeconds()
                let countersBefore = try await DatabaseCounters.read(client, logger: logger)
                let phase = try await load(rate: rate, http: http, skus: skus, timestamps: timestamps)
                let drained = try await timestamps.waitUntilNoneRunning(within: .seconds(drainSeconds))
                let cpuAfter = pids.cpuSeconds()
                // Read when the sagas have drained: rows a projector still behind writes later
                // count in the next phase's reading.
                let counters = try await DatabaseCounters.read(client, logger: logger).perCheckout(since: countersBefore, checkouts: phase.orderIDs.count)
                let checkouts = max(phase.orderIDs.count, 1)
                let cpu = cpuAfter.compactMap { name, after in cpuBefore[name].map { ("cpu_s_\(name)", String(format: "%.1f", after - $0)) } }
                    + cpuAfter.compactMap { name, after in
                        cpuBefore[name].map { ("cpu_ms_per_checkout_\(name)", String(format: "%.2f", (after - $0) * 1_000 / Double(checkouts))) }
                    }
                let cpuTotal = cpuAfter.reduce(0.0) { total, entry in total + (cpuBefore[entry.key].map { entry.value - $0 } ?? 0) }
                let outcome = try await timestamps.outcome(of: phase.orderIDs, until: phase.serverEnd)
                let hops = try await HopTimes.measure(orders: phase.orderIDs, client: client, logger: logger)
                let peaks = pids.peakRSS()
                var result = BenchmarkResult(
                    name: "checkout", throughput: Double(outcome.completedInPhase) / Double(seconds), unit: "checkouts/s",
                    p50_ms: outcome.sagaLatency.milliseconds(atPercentile: 50), p99_ms: outcome.sagaLatency.milliseconds(atPercentile: 99),
                    baseline_throughput: Double(rate), ratio: Double(outcome.completedInPhase) / Double(seconds) / Double(rate), rounds: 1,
                    operations: outcome.completed,
                    details: [
                        "offered_rate": "\(rate)", "seconds": "\(seconds)", "offered": "\(rate * seconds)", "placed": "\(phase.orderIDs.count)",
                        "admitted": "\(phase.orderIDs.count)", "shed": "\(phase.shed)",
                        "shed_answer_p99_ms": String(format: "%.1f", phase.shedAnswer.milliseconds(atPercentile: 99)),
                        "placement_failures": "\(phase.failures)", "completed": "\(outcome.completed)",
                        "completed_in_phase": "\(outcome.completedInPhase)", "completed_after_phase": "\(outcome.completed - outcome.completedInPhase)",
                        "completed_within_phase_plus_10s": "\(outcome.completedWithinTenSeconds)",
                        "compensated": "\(outcome.compensated)", "failed": "\(outcome.failed)", "deadlines_fired": "\(outcome.deadlinesFired)",
                        "not_completed": "\(phase.orderIDs.count - outcome.completed)",
                        "drained": "\(drained)",
                        "latency": "saga started to completed (sagas.instances started_at to updated_at)",
                        "end_to_end_p50_ms": String(format: "%.1f", outcome.endToEnd.milliseconds(atPercentile: 50)),
                        "end_to_end_p99_ms": String(format: "%.1f", outcome.endToEnd.milliseconds(atPercentile: 99)),
                        "placement_p50_ms": String(format: "%.1f", phase.placement.milliseconds(atPercentile: 50)),
                        "placement_p99_ms": String(format: "%.1f", phase.placement.milliseconds(atPercentile: 99)),
                        "baseline": "the offered rate (ratio 1: every checkout completed within its phase)",
                    ].merging(peaks.map { ("peak_rss_mb_\($0.key)", String(format: "%.0f", $0.value)) }) { $1 }
                        .merging(cpu) { $1 }
                        .merging(["cpu_ms_per_checkout": String(format: "%.2f", cpuTotal * 1_000 / Double(checkouts))]) { $1 }
                        .merging(counters) { $1 }
                        .merging(hops.details) { $1 })
                result.peak_rss_mb = peaks.values.max()
                result.printLine()
                print("  end to end p50 \(result.details["end_to_end_p50_ms"] ?? "?") ms, p99 \(result.details["end_to_end_p99_ms"] ?? "?") ms; "
                    + "not completed \(result.details["not_completed"] ?? "?"); placement failures \(phase.failures)")
                print(
                    "  per checkout: \(result.details["commits_per_checkout"] ?? "?") commits, \(result.details["rows_written_per_checkout"] ?? "?") rows written, "
                        + "\(result.details["wal_kb_per_checkout"] ?? "?") KiB of WAL, \(result.details["cpu_ms_per_checkout"] ?? "?") ms CPU (all processes)")
                print(
                    "  offered \(rate * seconds), admitted \(phase.orderIDs.count), shed \(phase.shed) (503, p99 \(result.details["shed_answer_p99_ms"] ?? "?") ms); "
                        + "completed \(outcome.completedInPhase) within the phase, \(outcome.completed - outcome.completedInPhase) after; "
                        + "compensated \(outcome.compensated), failed \(outcome.failed); deadlines fired \(outcome.deadlinesFired)")
                print(hops.line)
                for (reason, count) in phase.failureReasons.sorted(by: { $0.value > $1.value }).prefix(3) {
                    print("  placement failed \(count)×: \(reason)")
                }
                results.append(result)
                if !drained { break }
            }
            return results
        }
        if let json { try BenchmarkResult.write(results, to: json) }
    }

    struct Phase {
        var orderIDs: [String] = []
        var failures = 0
        /// Placements refused with 503 (admission), and how long the refusal took.
        var shed = 0
        var shedAnswer = LatencyRecorder()
        /// Each distinct reason a placement failed, with how often (the first 120 characters).
        var failureReasons: [String: Int] = [:]
        var placement = LatencyRecorder()
        var serverEnd = Date()
    }

    /// Places `rate` orders a second for `seconds` (open loop: a slow answer does not slow the
    /// offered load); the phase ends on the server's clock when the last placement answered.
    private func load(rate: Int, http: BenchHTTP, skus: [String], timestamps: SagaTimestamps) async throws -> Phase {
        let interval = Duration.seconds(1) / rate
        let total = rate * seconds
        let start = ContinuousClock.now
        var phase = Phase()
        await withTaskGroup(of: (Result<String, any Error>, Duration).self) { group in
            for index in 0..<total {
                try? await Task.sleep(until: start + interval * index, clock: .continuous)
                group.addTask {
                    let began = ContinuousClock.now
                    let placed: Result<String, any Error>
                    do { placed = .success(try await http.placeOrder(sku: skus[index % skus.count])) } catch { placed = .failure(error) }
                    return (placed, ContinuousClock.now - began)
                }
            }
            for await (placed, took) in group {
                switch placed {
                case .success(let id):
                    phase.orderIDs.append(id)
                    phase.placement.record(took)
                case .failure(let error as JSONClientError) where error.status == 503:
                    // Refused at once by admission ("try again"): shed, not failed.
                    phase.shed += 1
                    phase.shedAnswer.record(took)
                case .failure(let error):
                    phase.failures += 1
                    phase.failureReasons[String("\(error)".prefix(120)), default: 0] += 1
                }
            }
        }
        phase.serverEnd = try await timestamps.now()
        return phase
    }
}

/// What the suite's database says about checkouts.
struct SagaTimestamps {
    let client: PostgresClient
    let logger: Logger

    struct Outcome {
        var completed = 0
        var completedInPhase = 0
        /// Completed by the phase's end plus 10 s (saturation: all of them are).
        var completedWithinTenSeconds = 0
        var compensated = 0
        var failed = 0
        /// Deadlines that fired (each one resends a step's commands or gives up on it).
        var deadlinesFired = 0
        var sagaLatency = LatencyRecorder()
        var endToEnd = LatencyRecorder()
    }

    func now() async throws -> Date {
        try await client.query("SELECT now()", logger: logger).collect().first?.decode(Date.self) ?? Date()
    }

    /// True when no saga is running any more within `limit`.
    func waitUntilNoneRunning(within limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let running = try await client.query("SELECT count(*)::int8 FROM sagas.instances WHERE status = 'running'", logger: logger)
                .collect().first?.decode(Int64.self) ?? 0
            if running == 0 { return true }
            try await Task.sleep(for: .milliseconds(500))
        }
        return false
    }

    /// The phase's completed sagas: saga started to completed, and order placed (its first
    /// event) to saga completed, in microseconds from PostgreSQL's timestamps.
    func outcome(of orderIDs: [String], until end: Date) async throws -> Outcome {
        var outcome = Outcome()
        let rows = try await client.query(
            """
            SELECT (extract(epoch FROM i.updated_at - i.started_at) * 1e6)::int8,
                   (extract(epoch FROM i.updated_at - e.recorded_at) * 1e6)::int8,
                   i.updated_at <= \(end), i.updated_at <= \(end.addingTimeInterval(10))
            FROM sagas.instances i
            JOIN event_store.events e ON e.stream_id = 'order-' || i.correlation_id AND e.stream_version = 1
            WHERE i.correlation_id = ANY(\(orderIDs)) AND i.status = 'completed'
            """, logger: logger
        ).collect()
        for row in try await client.query(
            """
            SELECT count(*) FILTER (WHERE status = 'compensated'), count(*) FILTER (WHERE status = 'failed'),
                   (SELECT count(*) FROM sagas.history h WHERE h.saga = 'checkout' AND h.kind = 'deadline' AND h.correlation_id = ANY(\(orderIDs)))
            FROM sagas.instances WHERE saga = 'checkout' AND correlation_id = ANY(\(orderIDs))
            """, logger: logger
        ).collect() {
            let (compensated, failed, deadlines) = try row.decode((Int64, Int64, Int64).self)
            (outcome.compensated, outcome.failed, outcome.deadlinesFired) = (Int(compensated), Int(failed), Int(deadlines))
        }
        for row in rows {
            let (saga, endToEnd, inPhase, withinTenSeconds) = try row.decode((Int64, Int64, Bool, Bool).self)
            outcome.completed += 1
            if inPhase { outcome.completedInPhase += 1 }
            if withinTenSeconds { outcome.completedWithinTenSeconds += 1 }
            outcome.sagaLatency.record(.microseconds(saga))
            outcome.endToEnd.record(.microseconds(endToEnd))
        }
        return outcome
    }
}

/// The stack's processes (`scripts/stack` writes `name pid port` lines): their peak RSS, and
/// the CPU each used, PostgreSQL's server processes summed as `postgres` (where the time goes,
/// per process, on a machine whose cores they all share).
struct StackProcesses {
    let file: String?

    /// User + system CPU seconds so far of every stack process, and of all PostgreSQL processes.
    func cpuSeconds() -> [String: Double] {
        var seconds: [String: Double] = [:]
        for (name, pid) in processes() { seconds[name] = Self.cpu(of: pid) }
        let all = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        seconds["postgres"] = all.compactMap(Int.init).reduce(0.0) { total, pid in
            guard let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                comm.trimmingCharacters(in: .whitespacesAndNewlines) == "postgres"
            else { return total }
            return total + (Self.cpu(of: String(pid)) ?? 0)
        }
        return seconds
    }

    private func processes() -> [(name: String, pid: String)] {
        guard let file, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            return fields.count >= 2 ? (String(fields[0]), String(fields[1])) : nil
        }
    }

    /// utime + stime from /proc/<pid>/stat (fields 14 and 15, after the parenthesised name).
    private static func cpu(of pid: String) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Peak resident set (VmHWM) of every process still running, in MiB, by name.
    func peakRSS() -> [String: Double] {
        var peaks: [String: Double] = [:]
        for (name, pid) in processes() {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                let hwm = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                let kilobytes = hwm.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
            else { continue }
            peaks[name] = kilobytes / 1_024
        }
        return peaks
    }
}

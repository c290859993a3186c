import ArgumentParser
import Foundation
import Histogram
import Logging

/// One line of `--json` output (the fields DESIGN.md names).
struct BenchmarkResult: Codable {
    var name: String
    var throughput: Double
    var unit: String
    var p50_ms: Double
    var p99_ms: Double
    var baseline_throughput: Double?
    var ratio: Double?
    var rounds: Int
    var operations: Int
    var details: [String: String]
    /// The largest peak resident set among the processes measured (MiB), where it applies.
    var peak_rss_mb: Double? = nil

    static func write(_ results: [BenchmarkResult], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: URL(fileURLWithPath: path))
    }

    func printLine() {
        var line = "\(name): \(String(format: "%.0f", throughput)) \(unit), p50 \(String(format: "%.2f", p50_ms)) ms, p99 \(String(format: "%.2f", p99_ms)) ms"
        if let baseline_throughput, let ratio {
            line += " | baseline \(String(format: "%.0f", baseline_throughput)) \(unit), ratio \(String(format: "%.2f", ratio))"
        }
        print(line)
    }
}

/// Latencies in microseconds.
struct LatencyRecorder {
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)

    mutating func record(_ duration: Duration) {
        let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        _ = histogram.record(UInt64(max(1, micros)))
    }

    mutating func add(_ other: LatencyRecorder) { histogram.add(other.histogram) }

    func milliseconds(atPercentile percentile: Double) -> Double {
        Double(histogram.valueAtPercentile(percentile)) / 1_000
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// What every benchmark needs: a quiet logger and the PostgreSQL cluster to run on.
enum BenchEnvironment {
    static func logger(level: Logger.Level) -> Logger {
        var logger = Logger(label: "suite-bench")
        logger.logLevel = level
        return logger
    }

    static func databaseURL(_ option: String?) throws -> String {
        guard let url = option ?? ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            throw ValidationError("give --database-url or set DATABASE_URL (scripts/dev-postgres start prints one)")
        }
        return url
    }
}

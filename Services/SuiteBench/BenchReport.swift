import ArgumentParser
import Foundation

/// `bench/report.md` from the results `scripts/bench` and `suite-bench all` leave in
/// `.stack/bench-<name>.json`: each figure beside its baseline and ratio, the issue's targets,
/// the machine, and the checkout latency chart (`bench/checkout-latency.png`, drawn by
/// `scripts/bench-chart` when it is there).
struct BenchReport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Write bench/report.md from the saved results.")

    @Option(help: "Directory with bench-<name>.json files.") var results = ".stack"
    @Option(help: "The report to write.") var output = "bench/report.md"

    static let order = ["append", "relay", "project", "scale", "checkout", "tracing"]

    func run() throws {
        var sections: [(rows: String, details: String)] = []
        var phases = ""
        for name in Self.order {
            let path = "\(results)/bench-\(name).json"
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let decoded = try JSONDecoder().decode([BenchmarkResult].self, from: data)
            let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? nil
            sections.append(Self.section(name, decoded, measuredAt: modified))
            if name == "checkout" { phases = Self.checkoutPhases(decoded) }
        }
        guard !sections.isEmpty else { throw ValidationError("no bench-<name>.json in \(results): run scripts/bench first") }
        let report =
            Self.header() + sections.map(\.rows).joined() + phases + Self.chart(next: output) + "\n" + sections.map(\.details).joined(separator: "\n")
        let url = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(report.utf8).write(to: url)
        print("report: wrote \(output) (\(sections.count) benchmarks)")
    }

    static func header() -> String {
        """
        # Benchmark report

        Written by `suite-bench report` (`scripts/bench all` runs every benchmark, then this) from
        `.stack/bench-<name>.json`. Each figure is a median over rounds that alternate the suite
        and its baseline in the same run; PostgreSQL runs at its default durability (fsync on)
        unless a section says otherwise.

        Machine: \(machine())

        | benchmark | figure | baseline | ratio | p50 | p99 | peak RSS | target |
        | --- | --- | --- | --- | --- | --- | --- | --- |

        """
    }

    static func section(_ name: String, _ results: [BenchmarkResult], measuredAt: Date?) -> (rows: String, details: String) {
        var rows = ""
        for result in results {
            let label = result.details["offered_rate"].map { "\(result.name) at \($0)/s" } ?? result.name
            rows += "| \(label) | \(number(result.throughput)) \(result.unit) | "
            rows += result.baseline_throughput.map { "\(number($0)) \(result.unit)" } ?? "-"
            rows += " | \(result.ratio.map { String(format: "%.2f", $0) } ?? "-") | \(ms(result.p50_ms)) | \(ms(result.p99_ms))"
            rows += " | \(result.peak_rss_mb.map { String(format: "%.0f MB", $0) } ?? "-") | \(target(name)) |\n"
        }
        let when = measuredAt.map { " (measured \(ISO8601DateFormatter().string(from: $0)))" } ?? ""
        var details = "\n<details><summary>\(name)\(when)</summary>\n\n"
        for result in results {
            for (key, value) in result.details.sorted(by: { $0.key < $1.key }) { details += "- \(key): \(value)\n" }
            details += "\n"
        }
        details += "</details>\n"
        return (rows, details)
    }

    /// What happened to the checkouts of each offered rate: admitted or shed, when they
    /// completed, what they cost (issue 24's figures).
    static func checkoutPhases(_ results: [BenchmarkResult]) -> String {
        let columns: [(title: String, key: String)] = [
            ("offered", "offered"), ("admitted", "admitted"), ("shed (503)", "shed"), ("503 p99 ms", "shed_answer_p99_ms"),
            ("completed in phase", "completed_in_phase"), ("in phase + 10 s", "completed_within_phase_plus_10s"),
            ("after", "completed_after_phase"), ("compensated", "compensated"), ("failed", "failed"), ("deadlines fired", "deadlines_fired"),
            ("CPU ms / checkout", "cpu_ms_per_checkout"), ("rows / checkout", "rows_written_per_checkout"), ("commits / checkout", "commits_per_checkout"),
        ]
        var table = "\nCheckout phases (each offered rate for `seconds`, then drained):\n\n"
        table += "| offered rate | " + columns.map(\.title).joined(separator: " | ") + " |\n"
        table += "| --- |" + String(repeating: " --- |", count: columns.count) + "\n"
        for result in results {
            table += "| \(result.details["offered_rate"] ?? "?")/s × \(result.details["seconds"] ?? "?") s | "
            table += columns.map { result.details[$0.key] ?? "-" }.joined(separator: " | ") + " |\n"
        }
        return table
    }

    static func target(_ name: String) -> String {
        switch name {
        case "append": "≥ 1.0x baseline at 16 writers, ≥ 10,000 events/s, p99 < 25 ms"
        case "relay": "≥ 50,000 events/s draining; publish p99 < 50 ms"
        case "checkout":
            "issue 24: all complete within the phase + 10 s up to ≥ 150/s offered; at 300/s ≥ 90% of that within the phase, p99 < 5 s, "
                + "none compensated for queueing, the rest 503 at once; at 100/s ≤ 10 ms CPU and ≤ 45 rows per checkout; p50 < 700 ms at 50/s"
        case "project": "≥ 50,000 events/s; 1M-event rebuild < 30 s"
        case "tracing":
            "issue 25: tracing on (every span sampled, exported over OTLP/HTTP to scripts/otlp-sink) beside off (no endpoint: no tracer); "
                + "off pays nothing measurable"
        default: "-"
        }
    }

    static func chart(next output: String) -> String {
        let png = URL(fileURLWithPath: output).deletingLastPathComponent().appendingPathComponent("checkout-latency.png")
        guard FileManager.default.fileExists(atPath: png.path) else { return "" }
        return "\n![checkout latency against offered rate](checkout-latency.png)\n"
    }

    static func machine() -> String {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let memory = Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824
        let os = (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("PRETTY_NAME=") }
            .map { $0.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } ?? "unknown OS"
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown CPU"
        return "\(cores) cores (\(cpu)), \(String(format: "%.0f", memory)) GiB, \(os)"
    }

    static func number(_ value: Double) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = value < 100 ? 1 : 0
        return formatter.string(from: NSNumber(value: value)) ?? String(format: "%.0f", value)
    }

    static func ms(_ value: Double) -> String { value > 0 ? String(format: "%.1f ms", value) : "-" }
}

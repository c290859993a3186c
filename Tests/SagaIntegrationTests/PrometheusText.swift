import Foundation

/// A `/metrics` page read as Prometheus text: each sample by its name and labels.
struct PrometheusText {
    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
    }

    private(set) var samples: [Sample: Double] = [:]
    /// Metric families named by `# TYPE` lines, with what each exposes (`_bucket`, `_sum`, ...).
    private(set) var names: Set<String> = []

    /// Throws on a line that is neither a comment nor `name{labels} value`.
    init(_ text: String) throws {
        for line in text.split(separator: "\n") where !line.isEmpty {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count >= 4 else { throw Unreadable(line: String(line)) }
                let family = String(parts[2])
                names.insert(family)
                if parts[3] == "histogram" || parts[3] == "summary" { names.formUnion(["_bucket", "_sum", "_count"].map { family + $0 }) }
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let match = line.wholeMatch(of: /([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( \d+)?/), let value = Double(match.output.4)
            else { throw Unreadable(line: String(line)) }
            var labels: [String: String] = [:]
            for pair in (match.output.3 ?? "").matches(of: /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/) {
                labels[String(pair.output.1)] = String(pair.output.2)
            }
            let name = String(match.output.1)
            names.insert(name)
            samples[Sample(name: name, labels: labels), default: 0] += value
        }
    }

    /// The sum of every sample of `name` whose labels include `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { sample, _ in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }.values.reduce(0, +)
    }

    struct Unreadable: Error, CustomStringConvertible {
        var line: String
        var description: String { "not Prometheus text: \(line)" }
    }
}

/// The metric names a PromQL expression reads (functions, keywords, labels and ranges left out).
func metricNames(inQuery query: String) -> Set<String> {
    let keywords: Set<String> = [
        "sum", "rate", "irate", "increase", "by", "without", "max", "min", "avg", "count", "histogram_quantile", "topk", "bottomk", "le",
        "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "clamp_min", "clamp_max", "abs", "delta", "deriv",
        "max_over_time", "min_over_time", "avg_over_time", "time", "vector", "scalar", "label_replace", "e", "inf", "nan",
    ]
    var stripped = query.replacing(/\{[^}]*\}/, with: "").replacing(/\[[^\]]*\]/, with: "")
    stripped = stripped.replacing(/\b(by|without|on|ignoring)\s*\([^)]*\)/, with: "")
    stripped = stripped.replacing(/"[^"]*"/, with: "")
    return Set(stripped.matches(of: /[a-zA-Z_:][a-zA-Z0-9_:]*/).map { String($0.output) }.filter { !keywords.contains($0.lowercased()) })
}

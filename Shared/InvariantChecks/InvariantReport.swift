/// The checker's results as a table, then every violation.
public enum InvariantReport {
    public static func table(_ results: [CheckResult]) -> String {
        let width = max(5, results.map(\.name.count).max() ?? 5)
        func pad(_ text: String, _ count: Int) -> String { text + String(repeating: " ", count: max(0, count - text.count)) }
        var lines = ["\(pad("check", width))  \(pad("checked", 9))  violations", String(repeating: "-", count: width + 24)]
        for result in results {
            lines.append("\(pad(result.name, width))  \(pad(String(result.checked), 9))  \(result.violationCount)\(result.holds ? "" : "  FAIL")")
        }
        let failed = results.filter { !$0.holds }
        lines.append("")
        lines.append(failed.isEmpty ? "every invariant holds" : "\(failed.count) invariant(s) violated:")
        for result in failed {
            lines.append("\(result.name): \(result.summary)")
            lines += result.violations.map { "  - \($0)" }
            if result.violationCount > Int64(result.violations.count) { lines.append("  (\(result.violationCount - Int64(result.violations.count)) more)") }
        }
        return lines.joined(separator: "\n")
    }
}

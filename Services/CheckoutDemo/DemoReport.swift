import Foundation

/// The summary the demo prints: outcomes per scenario and every check, passed or not.
struct DemoReport {
    struct Check {
        var name: String
        var passed: Bool
        var detail: String
    }

    var checks: [Check] = []
    var notes: [String] = []
    var rows: [[String]] = []

    var passed: Bool { checks.allSatisfy(\.passed) }

    mutating func check(_ name: String, _ passed: Bool, detail: String = "") {
        checks.append(Check(name: name, passed: passed, detail: detail))
    }

    mutating func recordOutcomes(_ orders: [DemoOrder], _ outcomes: [String: DemoAPI.SagaOutcome]) {
        for scenario in Scenario.allCases {
            let mine = orders.filter { $0.scenario == scenario }
            let ends = mine.map { outcomes[$0.id] }
            let expected = scenario.expected
            let asDocumented = ends.filter { end in
                guard let end, end.state == expected.state else { return false }
                return expected.reason.map { end.reason?.contains($0) == true } ?? true
            }.count
            let count = { (state: String) in ends.filter { $0?.state == state }.count }
            rows.append([
                scenario.rawValue, "\(mine.count)", "\(count("completed"))", "\(count("compensated"))", "\(count("failed"))",
                "\(ends.filter { $0 == nil }.count)", "\(expected.state)\(expected.reason.map { " (\($0))" } ?? "")",
            ])
            check("\(scenario.rawValue): every saga ended as documented", asDocumented == mine.count, detail: "\(asDocumented) of \(mine.count)")
        }
    }

    func print(elapsed: TimeInterval) {
        Swift.print("\n== checkout outcomes per scenario")
        let headers = ["SCENARIO", "ORDERS", "COMPLETED", "COMPENSATED", "FAILED", "UNFINISHED", "EXPECTED"]
        let widths = headers.indices.map { column in ([headers] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [headers] + rows {
            let cells = row.enumerated().map { $0 == row.count - 1 ? $1 : $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
            Swift.print(cells.joined(separator: "  "))
        }
        Swift.print("\n== checks")
        for check in checks {
            Swift.print("\(check.passed ? "ok  " : "FAIL") \(check.name)\(check.detail.isEmpty ? "" : " — \(check.detail)")")
        }
        for note in notes { Swift.print("note: \(note)") }
        Swift.print("\n\(passed ? "demo: all checks passed" : "demo: SOME CHECKS FAILED") (\(String(format: "%.0f", elapsed)) s)")
    }
}

enum DemoShell {
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ command: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", command]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failed(description: "`\(command)` exited \(process.terminationStatus)") }
    }
}

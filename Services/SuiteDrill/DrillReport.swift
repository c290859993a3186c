import Foundation

/// Everything a drill found, printed as a table and written as JSON.
struct DrillReport: Codable, Sendable {
    var durationSeconds: Int
    var rate: Double
    var faults: [FaultResult]
    var attempted: Int
    var accepted: Int
    var rejected: Int
    var gaveUp: Int
    var abandoned: Int
    var retriedPlacements: Int
    var completed: Int
    var compensated: Int
    var failed: Int
    var ordersInStore: Int
    var settled: Bool
    var invariantsExitCode: Int32
    var invariantsTable: String
    /// Everything that breaks a promise or a plan; the drill passes only when this is empty.
    var violations: [String]

    var table: String {
        var lines = ["Drill: \(durationSeconds) s at \(rate) checkouts/s, \(faults.count) faults", ""]
        let width = max(faults.map(\.fault.count).max() ?? 0, 5)
        lines.append("Fault".padding(toLength: width, withPad: " ", startingAt: 0) + "   at (s)  accepted  saga ended  recovered (s)")
        func seconds(_ value: Double?) -> String { value.map { String(format: "%8.1f", $0) } ?? "       -" }
        for fault in faults {
            lines.append(
                fault.fault.padding(toLength: width, withPad: " ", startingAt: 0) + String(format: "   %6.1f", fault.startedAtSeconds) + "  "
                    + seconds(fault.acceptedInSeconds) + "  " + seconds(fault.sagaEndedInSeconds) + "    "
                    + (fault.recoveredInSeconds.map { String(format: "%6.1f", $0) } ?? "not recovered") + (fault.problem.map { "  (\($0))" } ?? ""))
        }
        lines.append("(a checkout placed when the fault starts: accepted by the command service, its saga ended, its final status in the read model)")
        lines += [
            "",
            "Checkouts: attempted \(attempted), accepted \(accepted), completed \(completed), compensated \(compensated), failed \(failed)",
            "Placements: refused \(rejected), gave up after retrying \(gaveUp), unanswered when the load stopped \(abandoned), retries \(retriedPlacements); orders in the event store \(ordersInStore)",
            "", invariantsTable, "",
            "Violations: \(violations.count)",
        ]
        lines += violations.map { "  - \($0)" }
        return lines.joined(separator: "\n")
    }
}

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
    var returns: DrillReturns
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
        ] + returns.lines + [
            "", invariantsTable, "",
            "Violations: \(violations.count)",
        ]
        lines += violations.map { "  - \($0)" }
        return lines.joined(separator: "\n")
    }
}

/// The partial returns the load made and how they ended.
struct DrillReturns: Codable, Sendable {
    /// What the load asked for and was answered.
    var load: ReturnLoad.Tally
    /// Returns events in the event store, by type.
    var requested: Int
    var received: Int
    var completed: Int
    var refundFailed: Int
    /// The returns processes (saga `returns`) by status.
    var processes: [String: Int]

    init(load: ReturnLoad.Tally, events: [String: Int], processes: [String: Int]) {
        self.load = load
        requested = events["ReturnRequested"] ?? 0
        received = events["ReturnReceived"] ?? 0
        completed = events["ReturnCompleted"] ?? 0
        refundFailed = events["ReturnRefundFailed"] ?? 0
        self.processes = processes
    }

    var lines: [String] {
        let processes = self.processes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return [
            "Returns (event store): requested \(requested), received \(received), completed \(completed), refund_failed \(refundFailed); processes: \(processes.isEmpty ? "none" : processes)",
            "Return requests: for \(load.chosen) checkouts, checkout not completed \(load.notCompleted), requested \(load.requested), received \(load.received), refused \(load.rejected), gave up \(load.gaveUp), unfinished when the load stopped \(load.abandoned), retries \(load.retried), asked again while returns did not know the order yet \(load.waitedForReadModel)",
        ]
    }

    /// Broken promises the counts show (the invariant checker covers how each return ended).
    var violations: [String] {
        var found: [String] = []
        if load.rejected > 0 { found.append("\(load.rejected) return requests or receipts refused with a 4xx: the drill's input is valid") }
        // Every answered request is one return; a request whose answer was lost may be one more.
        if requested < load.requested || requested > load.requested + load.gaveUp + load.abandoned {
            found.append("\(requested) returns in the event store for \(load.requested) accepted requests: a retried request made a second return or lost one")
        }
        if received < load.received { found.append("\(received) returns received in the event store, \(load.received) receipts answered: a receipt was lost") }
        return found
    }
}

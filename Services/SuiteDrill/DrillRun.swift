import ChildProcesses
import Foundation
import JSONClient
import Logging

/// One drill: load, faults on the schedule, settle, then the checks.
struct DrillRun {
    let suite: DrillSuite
    let duration: Duration
    let rate: Double
    let faults: [DrillFault]
    let bin: URL
    let logs: URL
    let settle: DrillSettle
    let logger: Logger
    /// How long the suite may take to finish what is in flight once the load stops (a checkout
    /// to a silent gateway waits for its payment deadline, a paused consumer for its session).
    let settleTimeout: Duration = .seconds(180)

    func run() async -> DrillReport {
        let http = JSONClient.drill
        let returns = ReturnLoad(http: http, commandURL: suite.commandService.url, orchestratorURL: suite.orchestrator.url)
        let load = CheckoutLoad(http: http, commandURL: suite.commandService.url, returns: returns)
        var violations: [String] = []
        do {
            try await load.restock()
        } catch {
            violations.append("restocking failed before any fault: \(error)")
        }
        let injector = FaultInjector(suite: suite, http: http, load: load)
        let schedule = DrillSchedule(duration: duration, faults: faults.filter { $0 != .postgresRestarted || suite.postgresRestart != nil })
        let start = ContinuousClock.now
        let loadTask = Task { await load.run(rate: rate) }
        var results: [FaultResult] = []
        for (number, entry) in schedule.entries.enumerated() {
            try? await Task.sleep(until: start + entry.offset)
            let at = Self.seconds(ContinuousClock.now - start)
            logger.info("fault", metadata: ["fault": "\(entry.fault.rawValue)", "at": "\(at)"])
            // Probe checkouts get indices of their own, far from the load's.
            let result = await injector.inject(entry.fault, probeIndex: 1_000_000 + number, startedAt: at)
            logger.info(
                "recovered", metadata: ["fault": "\(entry.fault.rawValue)", "seconds": "\(result.recoveredInSeconds.map { "\($0)" } ?? "never")"])
            results.append(result)
        }
        try? await Task.sleep(until: start + duration)
        loadTask.cancel()
        await loadTask.value
        logger.info("load stopped; settling", metadata: ["placed": "\(load.current.attempted)"])
        let unsettled = await settle.wait(timeout: settleTimeout)
        if let unsettled { violations.append("not settled \(settleTimeout) after the load stopped: \(unsettled)") }

        let (invariantsStatus, invariantsTable) = await runChecker()
        switch invariantsStatus {
        case 0: break
        case 1: violations.append("suite-check found violations (see its table)")
        default: violations.append("suite-check could not run (exit \(invariantsStatus))")
        }
        for result in results {
            if result.recoveredInSeconds == nil { violations.append("\(result.fault): no checkout completed within the probe's patience") }
            if let problem = result.problem { violations.append("\(result.fault): \(problem)") }
        }
        let tally = load.current
        let outcomes = (try? await settle.sagaOutcomes(saga: "checkout")) ?? [:]
        let returned = DrillReturns(
            load: returns.current, events: (try? await settle.returnEvents()) ?? [:], processes: (try? await settle.sagaOutcomes(saga: "returns")) ?? [:])
        violations += returned.violations
        let orders = (try? await settle.ordersInStore()) ?? -1
        // A placement whose answer was lost may have created its order, so an order per accepted
        // checkout, plus at most one per placement given up on.
        if orders < tally.accepted || orders > tally.accepted + tally.gaveUp + tally.abandoned {
            violations.append(
                "\(orders) orders in the event store for \(tally.accepted) accepted checkouts (\(tally.gaveUp + tally.abandoned) unanswered): a retried placement made a second order or lost one")
        }
        if let sagaless = try? await settle.ordersWithoutSaga(), sagaless > 0 {
            violations.append("\(sagaless) placed orders have no checkout saga: the checkout was lost")
        }
        // A service the drill did not crash must still run: one that died on its own (and
        // that the probes could route around) is a failure too.
        for process in suite.services where !process.isRunning {
            violations.append("\(process.name) is not running at the end (exited on its own, see \(process.logFile.path))")
        }
        if tally.rejected > 0 { violations.append("\(tally.rejected) checkouts refused with a 4xx: the drill's input is valid") }
        return DrillReport(
            durationSeconds: Int(duration.components.seconds), rate: rate, faults: results, attempted: tally.attempted, accepted: tally.accepted,
            rejected: tally.rejected, gaveUp: tally.gaveUp, abandoned: tally.abandoned, retriedPlacements: tally.retried, completed: outcomes["completed"] ?? 0,
            compensated: outcomes["compensated"] ?? 0, failed: (outcomes["failed"] ?? 0) + tally.gaveUp, ordersInStore: orders, returns: returned,
            settled: unsettled == nil, invariantsExitCode: invariantsStatus, invariantsTable: invariantsTable, violations: violations)
    }

    /// Runs `suite-check` against the drilled suite; its exit status and table.
    private func runChecker() async -> (Int32, String) {
        let output = logs.appendingPathComponent("suite-check.out")
        var environment = ProcessInfo.processInfo.environment
        environment["KAFKA_BROKERS"] = suite.commandService.environment["KAFKA_BROKERS"]
        let checker = bin.appendingPathComponent("suite-check").path
        let status: Int32
        do {
            status = try await ChildProcess.runShell("exec '\(checker)' >'\(output.path)' 2>&1", environment: environment).shellStatus
        } catch {
            return (2, "suite-check did not run: \(error)")
        }
        let table = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        return (status, table.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

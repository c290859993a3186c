import ChildProcesses
import Foundation
import JSONClient
import ServiceSupport

/// The drilled suite's processes and the levers the drill pulls on them.
struct DrillSuite: Sendable {
    let kafkaDev: DrillProcess
    let commandService: DrillProcess
    let projectors: [DrillProcess]
    let orchestrator: DrillProcess
    let kafkaControl: String
    let brokerCount: Int
    /// A shell command that crash-restarts PostgreSQL; nil leaves that fault out.
    let postgresRestart: String?

    var services: [DrillProcess] { [commandService] + projectors + [orchestrator] }
}

/// What one fault did and how long the suite took to serve a checkout end to end again.
struct FaultResult: Sendable, Codable {
    var fault: String
    var startedAtSeconds: Double
    /// When the probe checkout was accepted by the command service, and when its saga ended.
    var acceptedInSeconds: Double?
    var sagaEndedInSeconds: Double?
    /// From the fault's start until a checkout placed at that moment shows its final status in
    /// the read model; nil when it did not within the probe's patience.
    var recoveredInSeconds: Double?
    /// Something the drill could not do as planned (a crash point not reached in time).
    var problem: String?
}

/// Injects one fault while a probe checkout measures recovery.
struct FaultInjector: Sendable {
    let suite: DrillSuite
    let http: JSONClient
    let load: CheckoutLoad
    let probePatience: Duration = .seconds(120)
    /// Kafka's session timeout (`session.timeout.ms` in the suite's consumer configuration)
    /// plus a margin: a projector paused this long has lost its partitions.
    let pastSession: Duration = .seconds(10)

    func inject(_ fault: DrillFault, probeIndex: Int, startedAt: Double) async -> FaultResult {
        let start = ContinuousClock.now
        async let stages = probe(probeIndex, from: start)
        let problem = await pull(fault)
        let probed = await stages
        return FaultResult(
            fault: fault.rawValue, startedAtSeconds: startedAt, acceptedInSeconds: probed.accepted.map(DrillRun.seconds),
            sagaEndedInSeconds: probed.sagaEnded.map(DrillRun.seconds), recoveredInSeconds: probed.readModel.map(DrillRun.seconds), problem: problem)
    }

    /// Pulls the lever; returns a problem when the fault could not be injected as planned.
    private func pull(_ fault: DrillFault) async -> String? {
        switch fault {
        case .commandServiceKilled:
            return await crashAndRestart(suite.commandService)
        case .eventRelayCrashedAfterPublish:
            return await crashAtPoint(suite.commandService, point: CrashPoint.outboxAfterPublish)
        case .projectorCrashedMidBatch:
            return await crashAtPoint(suite.projectors[0], point: CrashPoint.projectionBeforeCommit)
        case .projectorKilled:
            return await crashAndRestart(suite.projectors[suite.projectors.count > 1 ? 1 : 0])
        case .orchestratorKilled:
            return await crashAndRestart(suite.orchestrator)
        case .commandRelayCrashedAfterPublish:
            return await crashAtPoint(suite.orchestrator, point: CrashPoint.outboxAfterPublish)
        case .projectorPausedPastSession:
            suite.projectors[0].signal(SIGSTOP)
            try? await Task.sleep(for: pastSession)
            suite.projectors[0].signal(SIGCONT)
            return nil
        case .postgresRestarted:
            guard let command = suite.postgresRestart else { return "no PostgreSQL restart command given; skipped" }
            let status: Int32
            do {
                status = try await ChildProcess.runShell(command).shellStatus
            } catch {
                return "PostgreSQL restart could not run: \(error)"
            }
            return status == 0 ? nil : "PostgreSQL restart exited \(status)"
        case .brokerDown:
            if let problem = await control("/brokers/1/down") { return problem }
            try? await Task.sleep(for: .seconds(10))
            return await control("/brokers/1/up")
        case .brokerLatency:
            var problems: [String] = []
            for broker in 1...suite.brokerCount {
                if let problem = await control("/brokers/\(broker)/latency?ms=300") { problems.append(problem) }
            }
            try? await Task.sleep(for: .seconds(10))
            // Every broker is set back, whatever failed above.
            for broker in 1...suite.brokerCount {
                if let problem = await control("/brokers/\(broker)/latency?ms=0") { problems.append(problem) }
            }
            return problems.isEmpty ? nil : problems.joined(separator: "; ")
        }
    }

    private func crashAndRestart(_ process: DrillProcess) async -> String? {
        await process.crash()
        return restart(process)
    }

    /// Arms the process's crash point (SIGUSR1) and waits for it to kill itself there.
    private func crashAtPoint(_ process: DrillProcess, point: String) async -> String? {
        let logged = (try? Data(contentsOf: process.logFile).count) ?? 0
        process.signal(SIGUSR1)
        var problem: String?
        if await !process.waitUntilExited(timeout: .seconds(30)) {
            problem = "\(process.name) did not reach \(point) within 30 s; killed from outside instead"
            await process.crash()
        } else {
            // Proof that it died at the point, not of SIGUSR1 itself or of something else.
            let log = (try? Data(contentsOf: process.logFile)) ?? Data()
            let tail = String(decoding: log.dropFirst(logged), as: UTF8.self)
            if !tail.contains("crash point \(point) reached") {
                problem = "\(process.name) exited after SIGUSR1 without reaching \(point) (see \(process.logFile.path))"
            }
        }
        return restart(process) ?? problem
    }

    private func restart(_ process: DrillProcess) -> String? {
        do {
            try process.start()
            return nil
        } catch {
            return "\(process.name) did not start again: \(error)"
        }
    }

    private func control(_ path: String) async -> String? {
        do {
            let answer = try await http.send(.post, "\(suite.kafkaControl)\(path)")
            return (200..<300).contains(answer.status) ? nil : "kafka-dev \(path): HTTP \(answer.status)"
        } catch {
            return "kafka-dev \(path): \(error)"
        }
    }

    /// When the probe checkout passed each stage, from the fault's start.
    struct ProbeStages: Sendable {
        var accepted: Duration?
        var sagaEnded: Duration?
        var readModel: Duration?
    }

    /// A checkout placed now, followed through the saga until the read model shows its final
    /// status.
    private func probe(_ index: Int, from start: ContinuousClock.Instant) async -> ProbeStages {
        var stages = ProbeStages()
        let deadline = start + probePatience
        guard let orderID = await load.place(index, scenario: .success) else { return stages }
        stages.accepted = .now - start
        while ContinuousClock.now < deadline {
            if stages.sagaEnded == nil, let answer = try? await http.send(.get, "\(suite.orchestrator.url)/sagas/\(orderID)", timeout: .seconds(2)),
                answer.status == 200, let state = answer.json?["state"] as? String, state != "running"
            {
                stages.sagaEnded = .now - start
            }
            for projector in suite.projectors where projector.isRunning {
                if let answer = try? await http.send(.get, "\(projector.url)/orders/\(orderID)", timeout: .seconds(2)),
                    answer.status == 200, let status = answer.json?["status"] as? String, status != "pending"
                {
                    stages.readModel = .now - start
                    stages.sagaEnded = stages.sagaEnded ?? stages.readModel
                    return stages
                }
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return stages
    }
}

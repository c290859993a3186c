import Foundation
import JSONClient
import ServiceSupport

/// Starts kafka-dev and the three services (two or three projectors) on free loopback ports,
/// each with its crash point configured, and waits until every one is ready.
struct DrillLauncher {
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    let bin: URL
    let logs: URL
    let databaseURL: String
    let projectors: Int
    let postgresRestart: String?
    let brokerCount = 3

    func launch() async throws -> DrillSuite {
        let bootstrapFile = logs.appendingPathComponent("kafka.bootstrap")
        let controlFile = logs.appendingPathComponent("kafka.control")
        try? FileManager.default.removeItem(at: bootstrapFile)
        try? FileManager.default.removeItem(at: controlFile)
        let kafkaDev = DrillProcess(
            name: "kafka-dev", executable: bin.appendingPathComponent("kafka-dev"),
            arguments: [
                "--brokers", "\(brokerCount)", "--topology", logs.appendingPathComponent("topology.json").path, "--bootstrap-file", bootstrapFile.path,
                "--control-file", controlFile.path,
            ],
            environment: [:], port: nil, logDirectory: logs)
        try kafkaDev.start()
        let brokers = try await contents(of: bootstrapFile, startedBy: kafkaDev)
        let control = try await contents(of: controlFile, startedBy: kafkaDev)

        let common = ["DATABASE_URL": databaseURL, "KAFKA_BROKERS": brokers, "LOG_FORMAT": "json"]
        func service(_ name: String, _ executable: String, crashPoint: String, settings: [String: String] = [:]) throws -> DrillProcess {
            var environment = common.merging(settings) { _, own in own }
            environment["SUITE_CRASH_POINT"] = crashPoint
            return DrillProcess(
                name: name, executable: bin.appendingPathComponent(executable), environment: environment, port: try LocalPort.free(),
                logDirectory: logs)
        }
        let commandService = try service("command-service", "command-service", crashPoint: CrashPoint.outboxAfterPublish)
        let projectionServices = try (1...projectors).map {
            try service("projection-service-\($0)", "projection-service", crashPoint: CrashPoint.projectionBeforeCommit)
        }
        // The drill's payment gateway answers every refund, so a returns process that gives up
        // (refund_failed, an operator's case, and a sagas-settled violation) would only measure
        // how long a fault held the answer up: the orchestrator down and rejoining, a broker
        // down for 10 s. The refund deadline is set above that (default 10 s) so that the drill
        // judges whether returns finish, not how fast.
        let orchestrator = try service(
            "saga-orchestrator", "saga-orchestrator", crashPoint: CrashPoint.outboxAfterPublish, settings: ["RETURN_REFUND_DEADLINE_MS": "30000"])
        let suite = DrillSuite(
            kafkaDev: kafkaDev, commandService: commandService, projectors: projectionServices, orchestrator: orchestrator,
            kafkaControl: control, brokerCount: brokerCount, postgresRestart: postgresRestart)
        do {
            // One at a time: each runs its own migrations first, and the first one creates the
            // schemas the others grant on.
            for process in suite.services {
                try process.start()
                try await waitUntilReady(process)
            }
        } catch {
            for process in suite.services.reversed() { await process.stop() }
            await kafkaDev.stop()
            throw error
        }
        return suite
    }

    private func contents(of file: URL, startedBy process: DrillProcess) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOf: file, encoding: .utf8), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard process.isRunning else { throw Failed(description: "\(process.name) exited (see \(process.logFile.path))") }
            try await Task.sleep(for: .milliseconds(50))
        }
        await process.stop()
        throw Failed(description: "\(process.name) did not write \(file.lastPathComponent) within 60 s")
    }

    private func waitUntilReady(_ process: DrillProcess) async throws {
        let http = JSONClient.drill
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            if let answer = try? await http.send(.get, "\(process.url)/health/ready", timeout: .seconds(5)), answer.status == 200 { return }
            guard process.isRunning else { throw Failed(description: "\(process.name) exited (see \(process.logFile.path))") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failed(description: "\(process.name) was not ready within 90 s (see \(process.logFile.path))")
    }
}

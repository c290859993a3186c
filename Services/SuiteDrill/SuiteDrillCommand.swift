import ArgumentParser
import ChildProcesses
import Foundation
import JSONClient
import Logging
import PostgresNIO
import ServiceSupport

/// `suite-drill`: runs the whole suite as processes on the loopback interface, places steady
/// checkouts while it crashes, pauses and cuts off its parts on a schedule, lets it settle and
/// runs the invariant checker (`suite-check`). Exit codes: 0 no violation; 1 a violation, a
/// fault not recovered from, or a fault that could not be injected; 2 the drill could not run.
@main
struct SuiteDrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite-drill",
        abstract: "Fault drill: steady checkouts under crashes, pauses, a PostgreSQL restart and broker faults; then the invariant checker.",
        discussion: """
            Needs DATABASE_URL (an empty database the drill may fill) and the suite's executables
            beside this one. Everything it starts listens on 127.0.0.1 and is stopped at the end.
            scripts/drill wraps it with a throwaway PostgreSQL it can restart.
            """)

    @Option(help: "Seconds of load while faults are injected (30 to 7200); the load goes on until every scheduled fault has run.")
    var duration = 150
    @Option(help: "Checkouts placed per second (0.5 to 200).") var rate = 5.0
    @Option(help: "Directory with the suite's executables (default: this executable's).") var binDirectory: String?
    @Option(help: "Directory for the processes' logs and the report.") var logDirectory = ".stack/drill"
    @Option(help: "Shell command that crash-restarts PostgreSQL on the same URL (default $DRILL_POSTGRES_RESTART); without one that fault is left out.")
    var postgresRestart: String?
    @Option(help: "Projection services in the consumer group (2 or 3).") var projectors = 2
    @Option(help: ArgumentHelp("Faults to inject, comma-separated, or all.", discussion: "Names: \(DrillFault.allCases.map(\.name).joined(separator: ", ")).", valueName: "names"))
    var faults = "all"

    func validate() throws {
        guard (30...7_200).contains(duration) else { throw ValidationError("--duration must be 30 to 7200 seconds") }
        guard (0.5...200).contains(rate) else { throw ValidationError("--rate must be 0.5 to 200 checkouts per second") }
        guard (2...3).contains(projectors) else { throw ValidationError("--projectors must be 2 or 3") }
        guard DrillFault.parseList(faults) != nil else {
            throw ValidationError("--faults must be all or a comma-separated list of: \(DrillFault.allCases.map(\.name).joined(separator: ", "))")
        }
    }

    func run() async throws {
        var logger = Logger(label: "suite-drill")
        logger.logLevel = .info
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["DATABASE_URL"], let database = try? DatabaseURL(url) else {
            FileHandle.standardError.write(Data("suite-drill: set DATABASE_URL to a postgres:// URL of an empty database\n".utf8))
            throw ExitCode(2)
        }
        let logs = URL(fileURLWithPath: logDirectory, isDirectory: true)
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let bin = URL(fileURLWithPath: binDirectory ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path)
        let restart = postgresRestart ?? environment["DRILL_POSTGRES_RESTART"]
        let interruptions = Self.stopChildrenOnInterrupt()
        defer { interruptions.forEach { $0.cancel() } }

        let suite: DrillSuite
        do {
            suite = try await DrillLauncher(bin: bin, logs: logs, databaseURL: url, projectors: projectors, postgresRestart: restart).launch()
        } catch {
            FileHandle.standardError.write(Data("suite-drill: the suite did not start: \(error) (logs in \(logs.path))\n".utf8))
            throw ExitCode(2)
        }
        let client = PostgresClient(configuration: database.clientConfiguration, backgroundLogger: logger)
        let report = await withTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return await DrillRun(
                suite: suite, duration: .seconds(duration), rate: rate, faults: DrillFault.parseList(faults) ?? DrillFault.allCases, bin: bin, logs: logs,
                settle: DrillSettle(client: client, http: .drill, projectorURL: suite.projectors[0].url, logger: logger), logger: logger
            ).run()
        }
        for process in suite.services.reversed() { await process.stop() }
        await suite.kafkaDev.stop()
        print(report.table)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: logs.appendingPathComponent("report.json"))
        if !report.violations.isEmpty { throw ExitCode(1) }
    }

    /// Ctrl-C or SIGTERM kills what the drill started before the drill exits.
    private static func stopChildrenOnInterrupt() -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                ChildProcess.killAll()
                FileHandle.standardError.write(Data("suite-drill: interrupted; stopped what it started\n".utf8))
                Glibc.exit(2)
            }
            source.resume()
            return source
        }
    }
}

import ChildProcesses
import Foundation
import Synchronization

/// One process of the drilled suite, which the drill crashes, pauses and starts again under
/// the same name, port and environment (as a supervisor such as systemd or Kubernetes would).
/// Each start is a new `ChildProcess`; every one appends to the same log file.
final class DrillProcess: Sendable {
    private let current = Mutex<ChildProcess?>(nil)
    let name: String
    let executable: URL
    let arguments: [String]
    let environment: [String: String]
    let logFile: URL
    /// The HTTP port, nil for a process without one.
    let port: Int?

    init(name: String, executable: URL, arguments: [String] = [], environment: [String: String], port: Int?, logDirectory: URL) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.port = port
        logFile = logDirectory.appendingPathComponent("\(name).log")
    }

    var url: String { "http://127.0.0.1:\(port ?? 0)" }

    /// False once the process has exited (it is reaped then). A paused process is running.
    var isRunning: Bool { current.withLock { $0?.isRunning ?? false } }

    func start() throws {
        var overrides = environment
        if let port { overrides["PORT"] = "\(port)" }
        overrides["INSTANCE_ID"] = name
        let process = try ChildProcess(
            name: name, executable: executable.path, arguments: arguments, environment: ChildProcess.inheritedEnvironment(merging: overrides),
            logFile: logFile)
        current.withLock { $0 = process }
    }

    func signal(_ signal: Int32) {
        current.withLock { $0 }?.signal(signal)
    }

    /// True once the process has exited, within `timeout`.
    func waitUntilExited(timeout: Duration) async -> Bool {
        guard let process = current.withLock({ $0 }) else { return true }
        return await process.waitUntilExited(timeout: timeout) != nil
    }

    /// SIGKILL: no drain, no flush, as a crash.
    func crash() async {
        signal(SIGKILL)
        _ = await waitUntilExited(timeout: .seconds(10))
    }

    /// SIGTERM and a bounded wait for the drain; SIGKILL after `timeout`.
    func stop(timeout: Duration = .seconds(25)) async {
        _ = await current.withLock { $0 }?.stop(timeout: timeout)
    }
}

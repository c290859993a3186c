import Foundation
import Synchronization

/// One process of the drilled suite, which the drill crashes, pauses and starts again under
/// the same name, port and environment (as a supervisor such as systemd or Kubernetes would).
final class DrillProcess: Sendable {
    /// Every process the drill started, so that an interrupted drill (Ctrl-C, SIGTERM) leaves
    /// nothing behind.
    static let started = Mutex<Set<pid_t>>([])

    private struct State {
        var pid: pid_t = 0
        var exited = true
    }

    private let state = Mutex(State())
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
    var isRunning: Bool {
        state.withLock { state in
            guard !state.exited else { return false }
            if ChildProcess.exitStatus(of: state.pid) != nil {
                state.exited = true
                _ = Self.started.withLock { $0.remove(state.pid) }
            }
            return !state.exited
        }
    }

    func start() throws {
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, new in new }
        if let port { merged["PORT"] = "\(port)" }
        merged["INSTANCE_ID"] = name
        let pid = try ChildProcess.spawn(executable.path, arguments, environment: merged, output: logFile.path)
        state.withLock { $0 = State(pid: pid, exited: false) }
        _ = Self.started.withLock { $0.insert(pid) }
    }

    /// SIGKILLs every process the drill started; for an interrupted drill.
    static func killAll() {
        for pid in started.withLock({ $0 }) { kill(pid, SIGKILL) }
    }

    func signal(_ signal: Int32) {
        state.withLock { state in
            if !state.exited { kill(state.pid, signal) }
        }
    }

    /// True once the process has exited, within `timeout`.
    func waitUntilExited(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// SIGKILL: no drain, no flush, as a crash.
    func crash() async {
        signal(SIGKILL)
        _ = await waitUntilExited(timeout: .seconds(10))
    }

    /// SIGTERM and a bounded wait for the drain; SIGKILL after `timeout`.
    func stop(timeout: Duration = .seconds(25)) async {
        guard isRunning else { return }
        signal(SIGTERM)
        if await !waitUntilExited(timeout: timeout) { await crash() }
    }

    deinit {
        state.withLock { state in
            if !state.exited { kill(state.pid, SIGKILL) }
        }
    }
}

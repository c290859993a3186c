public import Foundation
import Synchronization

/// A child process started with `posix_spawn` and reaped with `waitpid`, so that its exit is
/// always noticed: `isRunning` asks the kernel (and reaps), it does not wait for a monitor
/// thread. A process that is dropped while running is SIGKILLed and reaped, so a test or a tool
/// that fails halfway leaves no process holding ports, consumer-group memberships or CPU.
public final class ChildProcess: Sendable {
    /// Every child started and not yet reaped, for `killAll()`.
    private static let live = Mutex<Set<pid_t>>([])

    private let ended = Mutex<Termination?>(nil)
    /// A name for messages and log files ("projector-2").
    public let name: String
    public let pid: pid_t
    /// Where stdout (and stderr, unless `errorFile` is set) is appended; nil when inherited.
    public let logFile: URL?
    public let errorFile: URL?

    /// Starts `executable` (an absolute path) with exactly `environment` (see
    /// `inheritedEnvironment(merging:)`), output appended to `logFile`.
    public init(
        name: String, executable: String, arguments: [String] = [], environment: [String: String], logFile: URL?, errorFile: URL? = nil
    ) throws(ChildProcessError) {
        self.name = name
        self.logFile = logFile
        self.errorFile = errorFile
        pid = try PosixSpawn.spawn(executable, arguments, environment: environment, output: logFile?.path, errors: errorFile?.path)
        _ = Self.live.withLock { $0.insert(pid) }
    }

    /// This process's environment with `overrides` on top.
    public static func inheritedEnvironment(merging overrides: [String: String] = [:]) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(overrides) { _, new in new }
    }

    /// How it ended, once it has (reaping it then); nil while it runs. A paused process runs.
    public var termination: Termination? {
        ended.withLock { ended in
            if ended == nil, let termination = PosixSpawn.wait(for: pid, blocking: false) { record(termination, in: &ended) }
            return ended
        }
    }

    public var isRunning: Bool { termination == nil }

    /// Exited by itself with status 0.
    public var exitedCleanly: Bool { termination?.isSuccess == true }

    /// Sends `signal` unless it has already been reaped (its pid may belong to another process
    /// by then).
    public func signal(_ signal: Int32) {
        ended.withLock { ended in
            if ended == nil { PosixSpawn.send(signal, to: pid) }
        }
    }

    /// How it ended, within `timeout`; nil if it is still running then.
    public func waitUntilExited(timeout: Duration) async -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let termination { return termination }
            if ContinuousClock.now > deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// SIGKILL and reap: no drain, no flush, as a crash. Returns at once after the kernel
    /// has ended it (usable in a `defer`).
    @discardableResult
    public func kill() -> Termination {
        ended.withLock { ended in
            if let ended { return ended }
            PosixSpawn.send(SIGKILL, to: pid)
            let termination = PosixSpawn.wait(for: pid, blocking: true) ?? .unknown
            record(termination, in: &ended)
            return termination
        }
    }

    /// SIGTERM and a bounded wait for the drain; SIGKILL after `timeout`.
    @discardableResult
    public func stop(timeout: Duration = .seconds(20)) async -> Termination {
        if let termination { return termination }
        signal(SIGTERM)
        if let termination = await waitUntilExited(timeout: timeout) { return termination }
        return kill()
    }

    /// What it has written to its log file so far.
    public var log: String { logFile.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? "" }

    /// SIGKILLs every child started and not yet reaped, without waiting: for a parent that is
    /// interrupted and about to exit.
    public static func killAll() {
        for pid in live.withLock({ $0 }) { PosixSpawn.send(SIGKILL, to: pid) }
    }

    private func record(_ termination: Termination, in ended: inout Termination?) {
        ended = termination
        _ = Self.live.withLock { $0.remove(pid) }
    }

    deinit {
        if termination == nil { kill() }
    }
}

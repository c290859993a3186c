import Foundation

/// Starts and reaps the drill's child processes with `posix_spawn` and `waitpid`. Not
/// Foundation's `Process`: its exit monitor missed the exit of a short shell command in the
/// drill (a zombie left, `isRunning` true for good), and `waitUntilExit()` blocks a
/// cooperative thread.
enum ChildProcess {
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts `path` with its output and errors appended to `output` (or inherited when nil).
    static func spawn(_ path: String, _ arguments: [String], environment: [String: String], output: String?) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // The drill ignores SIGINT and SIGTERM itself (it handles them); its children must not
        // inherit that, nor a blocked signal mask.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGUSR1, SIGPIPE] { sigaddset(&defaults, number) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let spawned = withCStrings([path] + arguments) { argv in
            withCStrings(environment.map { "\($0.key)=\($0.value)" }) { envp in posix_spawn(&pid, path, &actions, &attributes, argv, envp) }
        }
        guard spawned == 0 else { throw Failed(description: "could not start \(path): \(String(cString: strerror(spawned)))") }
        return pid
    }

    /// The exit status once `pid` has exited (128 + N when killed by signal N), nil while it
    /// runs. Reaps it.
    static func exitStatus(of pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let waited = waitpid(pid, &status, WNOHANG)
        if waited == 0 { return nil }
        if waited < 0 { return errno == EINTR ? nil : -1 }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as functions.
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Runs `/bin/sh -c command` to its end; its exit status. Killed (status 137) after `timeout`.
    static func runShell(
        _ command: String, environment: [String: String] = ProcessInfo.processInfo.environment, timeout: Duration = .seconds(600)
    ) async throws -> Int32 {
        let pid = try spawn("/bin/sh", ["-c", command], environment: environment, output: nil)
        _ = DrillProcess.started.withLock { $0.insert(pid) }
        defer { _ = DrillProcess.started.withLock { $0.remove(pid) } }
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status = exitStatus(of: pid) { return status }
            if ContinuousClock.now > deadline {
                kill(pid, SIGKILL)
                while exitStatus(of: pid) == nil { try? await Task.sleep(for: .milliseconds(20)) }
                return 128 + SIGKILL
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return body(pointers)
    }
}

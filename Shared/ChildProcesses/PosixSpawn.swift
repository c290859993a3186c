import Foundation

/// `posix_spawn` with the file actions and signal set-up every child needs, and the decoding of
/// `waitpid`'s status. Not Foundation's `Process`: its exit monitor missed the exit of a short
/// child (a zombie left, `isRunning` true for good), and `waitUntilExit()` blocks a cooperative
/// thread.
enum PosixSpawn {
    /// Starts `path` (absolute) with stdout appended to `output` and stderr to `errors` (to
    /// `output` too when nil); both are inherited when `output` is nil.
    static func spawn(_ path: String, _ arguments: [String], environment: [String: String], output: String?, errors: String?) throws(ChildProcessError)
        -> pid_t
    {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let flags = O_WRONLY | O_CREAT | O_APPEND
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, flags, 0o644)
            if errors == nil { posix_spawn_file_actions_adddup2(&actions, 1, 2) }
        }
        if let errors { posix_spawn_file_actions_addopen(&actions, 2, errors, flags, 0o644) }
        // Nothing else of the parent's (its listening sockets, database connections) may stay
        // open in the child: a port would stay held after the parent closed it.
        if let closeFrom = closeFromAction() { _ = closeFrom(&actions, 3) }
        // A parent that handles SIGINT and SIGTERM itself (or ignores them) must not pass that
        // on, nor a blocked signal mask: the child gets the default handling of each.
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
        guard spawned == 0 else { throw ChildProcessError(path: path, reason: String(cString: strerror(spawned))) }
        return pid
    }

    /// How `pid` ended, reaping it; nil while it runs. `blocking` waits for the end.
    static func wait(for pid: pid_t, blocking: Bool) -> Termination? {
        var status: Int32 = 0
        while true {
            let waited = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if waited == pid { return Termination(waitStatus: status) }
            if waited == 0 { return nil }
            // Interrupted: ask again. Anything else (ECHILD: someone else reaped it) means it
            // is gone, and its status with it.
            if errno != EINTR { return .unknown }
        }
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), looked up at run
    /// time: Swift's Glibc module does not import it. Nil on a C library without it, where the
    /// child keeps what was opened without close-on-exec.
    private static func closeFromAction() -> CloseFrom? {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }

    /// `kill(2)`, named apart from `ChildProcess.kill()`.
    static func send(_ signal: Int32, to pid: pid_t) {
        _ = kill(pid, signal)
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return body(pointers)
    }
}

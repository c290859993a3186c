public import Foundation

extension ChildProcess {
    /// Runs `executable` to its end and returns how it ended; SIGKILLed after `timeout`.
    public static func run(
        _ executable: String, _ arguments: [String] = [], environment: [String: String] = inheritedEnvironment(), logFile: URL? = nil,
        errorFile: URL? = nil, timeout: Duration = .seconds(600)
    ) async throws(ChildProcessError) -> Termination {
        let child = try ChildProcess(
            name: URL(fileURLWithPath: executable).lastPathComponent, executable: executable, arguments: arguments, environment: environment,
            logFile: logFile, errorFile: errorFile)
        if let termination = await child.waitUntilExited(timeout: timeout) { return termination }
        return child.kill()
    }

    /// Runs `/bin/sh -c command` to its end, output inherited unless `logFile` is given.
    public static func runShell(
        _ command: String, environment: [String: String] = inheritedEnvironment(), logFile: URL? = nil, timeout: Duration = .seconds(600)
    ) async throws(ChildProcessError) -> Termination {
        try await run("/bin/sh", ["-c", command], environment: environment, logFile: logFile, timeout: timeout)
    }
}

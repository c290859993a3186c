public import ChildProcesses
public import Foundation
import ServiceSupport

extension ChildProcess {
    /// The directory holding the built executables (the test bundle's own build folder).
    public static var builtExecutables: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("projection-service").path) {
            url = url.deletingLastPathComponent()
        }
        return url
    }

    /// One of the package's executables started as a real process, for tests that kill, pause
    /// and restart services: this environment with `environment` on top, output and errors in
    /// a fresh log file named after `name` (kept after the test, to read when it failed).
    public static func startBuilt(_ executable: String, name: String, environment: [String: String]) throws -> ChildProcess {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("suite-test-logs", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let logFile = directory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(6)).log")
        return try ChildProcess(
            name: name, executable: builtExecutables.appendingPathComponent(executable).path,
            environment: inheritedEnvironment(merging: environment), logFile: logFile)
    }
}

/// A TCP port that was free a moment ago, for a service process the test must reach by URL.
public func freeLocalPort() throws -> Int { try LocalPort.free() }

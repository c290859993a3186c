public import Foundation
import ServiceSupport

/// One of the suite's executables started as a real process, for tests that kill, pause and
/// restart services. Output goes to a log file named after the process.
public final class ServiceProcess: @unchecked Sendable {
    // Process is not Sendable; this wrapper only calls thread-safe members (pid, signals).
    private let process: Process
    public let name: String
    public let logFile: URL

    /// The directory holding the built executables (the test bundle's own build folder).
    public static var binaryDirectory: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("projection-service").path) {
            url = url.deletingLastPathComponent()
        }
        return url
    }

    public init(executable: String, name: String, environment: [String: String]) throws {
        self.name = name
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("suite-test-logs", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        logFile = directory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let output = try FileHandle(forWritingTo: logFile)
        process = Process()
        process.executableURL = Self.binaryDirectory.appendingPathComponent(executable)
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, new in new }
        process.environment = merged
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    /// A test that throws before stopping its processes must not leave them running: they would
    /// hold ports, consumer-group members and CPU for every test after it.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// SIGKILL, then wait until it is gone.
    public func kill9() {
        signal(SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM and wait for a clean exit; SIGKILL after `timeout`. True when it exited on its
    /// own, with status 0, within the timeout.
    @discardableResult
    public func stop(timeout: Duration = .seconds(20)) async -> Bool {
        guard process.isRunning else { return exitedCleanly }
        signal(SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        guard process.isRunning else { return exitedCleanly }
        kill9()
        return false
    }

    /// Exited by itself with status 0.
    public var exitedCleanly: Bool {
        !process.isRunning && process.terminationReason == .exit && process.terminationStatus == 0
    }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }
}

/// A TCP port that was free a moment ago, for a service process the test must reach by URL.
public func freeLocalPort() throws -> Int { try LocalPort.free() }

/// Runs one of the suite's command-line tools to completion (e.g. `suitectl`), for tests that
/// drive the suite the way an operator does.
public struct ToolRun: Sendable {
    public var status: Int32
    public var output: String
    public var errors: String

    /// A run still going after `timeout` is killed (status: the signal, 9).
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(300)
    ) async throws -> ToolRun {
        let process = Process()
        process.executableURL = ServiceProcess.binaryDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, new in new }
        process.environment = merged
        let directory = FileManager.default.temporaryDirectory
        let outputFile = directory.appendingPathComponent("tool-\(UUID().uuidString).out")
        let errorFile = directory.appendingPathComponent("tool-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outputFile)
            try? FileManager.default.removeItem(at: errorFile)
        }
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return ToolRun(
            status: process.terminationStatus, output: (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "",
            errors: (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "")
    }
}

import ChildProcesses
import Foundation

/// Runs one of the package's command-line tools to completion (e.g. `suitectl`), for tests that
/// drive the suite the way an operator does.
public struct ToolRun: Sendable {
    /// The exit status; the signal's number for a run that was killed (9 after the timeout).
    public var status: Int32
    public var output: String
    public var errors: String

    /// A run still going after `timeout` is killed.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(300)
    ) async throws -> ToolRun {
        let directory = FileManager.default.temporaryDirectory
        let outputFile = directory.appendingPathComponent("tool-\(UUID().uuidString).out")
        let errorFile = directory.appendingPathComponent("tool-\(UUID().uuidString).err")
        defer {
            try? FileManager.default.removeItem(at: outputFile)
            try? FileManager.default.removeItem(at: errorFile)
        }
        let termination = try await ChildProcess.run(
            ChildProcess.builtExecutables.appendingPathComponent(executable).path, arguments,
            environment: ChildProcess.inheritedEnvironment(merging: environment), logFile: outputFile, errorFile: errorFile, timeout: timeout)
        let status: Int32 =
            switch termination {
            case .exited(let status), .signalled(let status): status
            case .unknown: -1
            }
        return ToolRun(
            status: status, output: (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "",
            errors: (try? String(contentsOf: errorFile, encoding: .utf8)) ?? "")
    }
}

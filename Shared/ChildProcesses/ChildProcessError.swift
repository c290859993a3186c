/// A child process that could not be started.
public struct ChildProcessError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "could not start \(path): \(reason)" }
}

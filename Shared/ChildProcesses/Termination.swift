/// How a child process ended.
public enum Termination: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)
    /// Reaped by someone else (`waitpid` said ECHILD): gone, status unknown.
    case unknown

    /// From `waitpid`'s status word (WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not
    /// import as functions).
    init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    /// As a shell reports it: the exit status, or 128 + N when killed by signal N (-1 unknown).
    public var shellStatus: Int32 {
        switch self {
        case .exited(let status): status
        case .signalled(let signal): 128 + signal
        case .unknown: -1
        }
    }

    /// Exited by itself with status 0.
    public var isSuccess: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let status): "exited with status \(status)"
        case .signalled(let signal): "killed by signal \(signal)"
        case .unknown: "gone (status unknown)"
        }
    }
}

public import Foundation
import Synchronization

/// Named places where a fault drill can crash a service at an exact moment, such as the relay
/// between publishing a batch and marking it published, which a SIGKILL from outside hits only
/// by luck.
///
/// A process started with `SUITE_CRASH_POINT=<name>` arms the point when it receives SIGUSR1
/// and kills itself (SIGKILL: no drain, no flush) the next time it reaches the point. Without
/// the variable, as in production, no handler is installed and reaching a point reads one
/// flag.
public enum CrashPoint {
    /// After the relay's send was acknowledged, before the rows are marked published.
    public static let outboxAfterPublish = "outbox.after-publish"
    /// After a projection batch wrote its rows and stream positions, before its checkpoint
    /// moved and the transaction committed.
    public static let projectionBeforeCommit = "projection.before-commit"

    public static let all = [outboxAfterPublish, projectionBeforeCommit]

    private static let armed = Atomic<Bool>(false)
    private static let configured = Mutex<String?>(nil)

    /// Reads `SUITE_CRASH_POINT` and, when it names a point, arms it on SIGUSR1. Called once by
    /// `ServiceHost`; an unknown name is a configuration error.
    public static func installFromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) {
        guard let name = environment["SUITE_CRASH_POINT"], !name.isEmpty else { return }
        guard all.contains(name) else {
            throw ConfigurationError(variable: "SUITE_CRASH_POINT", value: name, reason: "unknown crash point (known: \(all.joined(separator: ", ")))")
        }
        configured.withLock { $0 = name }
        // The handler only stores to a lock-free atomic (async-signal-safe); touching it first
        // initialises the static outside the handler.
        armed.store(false, ordering: .releasing)
        signal(SIGUSR1) { _ in CrashPoint.armed.store(true, ordering: .releasing) }
    }

    /// Crashes the process here if this point is armed.
    public static func reach(_ name: String) {
        guard armed.load(ordering: .acquiring) else { return }
        guard configured.withLock({ $0 == name }) else { return }
        FileHandle.standardError.write(Data("crash point \(name) reached: SIGKILL\n".utf8))
        kill(getpid(), SIGKILL)
    }
}

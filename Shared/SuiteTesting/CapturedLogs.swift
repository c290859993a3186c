import Foundation
public import Logging
import ServiceSupport
import Synchronization

/// Log lines kept in memory as the services write them (JSON, with the message context's ids),
/// for tests that check what an operator grepping the logs would find.
public final class CapturedLogs: Sendable {
    private let lines = Mutex<[[String: String]]>([])

    public init() {}

    /// A logger whose lines (at `level` and above) are kept here.
    public func logger(_ label: String, level: Logger.Level = .info) -> Logger {
        var handler = JSONLogHandler(label: label) { [weak self] line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] else { return }
            self?.lines.withLock { $0.append(object) }
        }
        handler.metadataProvider = MessageContext.metadataProvider
        handler.logLevel = level
        return Logger(label: label) { _ in handler }
    }

    /// The lines kept so far, each a JSON object of strings.
    public var all: [[String: String]] { lines.withLock { $0 } }

    /// The lines whose `key` metadata is `value` (what `grep` on a correlation id finds).
    public func with(_ key: String, _ value: String) -> [[String: String]] { all.filter { $0[key] == value } }
}

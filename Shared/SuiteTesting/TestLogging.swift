import Foundation
public import Logging

/// A logger for tests: quiet unless `TEST_LOG_LEVEL` asks for more.
public func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfoLevel.current
    return logger
}

private enum ProcessInfoLevel {
    static var current: Logger.Level {
        guard let raw = getenv("TEST_LOG_LEVEL").map({ String(cString: $0) }), let level = Logger.Level(rawValue: raw) else {
            return .error
        }
        return level
    }
}

public import Foundation

extension Duration {
    /// The duration in seconds, for `Date` and SQL intervals (a saga's deadline, a lease).
    public var timeInterval: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Date {
    /// The date `duration` later (a deadline from now).
    public static func + (date: Date, duration: Duration) -> Date { date.addingTimeInterval(duration.timeInterval) }
}

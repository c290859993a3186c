import Foundation
import Metrics
import Synchronization

/// Gauges sampled when `/metrics` is scraped (cheaper than recording them on every change):
/// how many of this process's PostgreSQL calls wait for a pooled connection and how many hold
/// one (counted by `withLiveConnection`, which every live query and transaction goes through),
/// and the process's resident memory.
public enum ProcessGauges {
    static let waitingForConnection = Atomic<Int>(0)
    static let holdingConnection = Atomic<Int>(0)

    /// Records the current values.
    public static func sample() {
        Gauge(label: "postgres_pool_connections_waiting").record(waitingForConnection.load(ordering: .relaxed))
        Gauge(label: "postgres_pool_connections_in_use").record(holdingConnection.load(ordering: .relaxed))
        if let bytes = residentBytes() { Gauge(label: "process_resident_memory_bytes").record(bytes) }
    }

    /// The pool's bound, recorded once when the pool is made.
    public static func recordPoolSize(_ maximum: Int) {
        Gauge(label: "postgres_pool_connections_max").record(maximum)
    }

    /// Resident set size from `/proc/self/statm` (pages), nil where there is no procfs.
    static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

import Foundation
import Metrics
public import PostgresNIO
import Synchronization

/// Gauges sampled when `/metrics` is scraped (cheaper than recording them on every change):
/// how many of the service's PostgreSQL calls wait for a connection of its pool and how many
/// hold one (counted by `withLiveConnection`, which every live query and transaction goes
/// through, for the pool named by `watch`; the migration pool is not counted), and the
/// process's resident memory.
public enum ProcessGauges {
    static let waitingForConnection = Atomic<Int>(0)
    static let holdingConnection = Atomic<Int>(0)
    /// The watched pool's identity (0: none).
    private static let watchedPool = Atomic<Int>(0)

    /// Counts the calls on `pool` from now on and records its bound.
    public static func watch(_ pool: PostgresClient, maximumConnections: Int) {
        watchedPool.store(ObjectIdentifier(pool).hashValue, ordering: .releasing)
        Gauge(label: "postgres_pool_connections_max").record(maximumConnections)
    }

    static func isWatched(_ pool: PostgresClient) -> Bool {
        watchedPool.load(ordering: .acquiring) == ObjectIdentifier(pool).hashValue
    }

    /// Records the current values.
    public static func sample() {
        Gauge(label: "postgres_pool_connections_waiting").record(waitingForConnection.load(ordering: .relaxed))
        Gauge(label: "postgres_pool_connections_in_use").record(holdingConnection.load(ordering: .relaxed))
        if let bytes = residentBytes() { Gauge(label: "process_resident_memory_bytes").record(bytes) }
    }

    /// Resident set size from `/proc/self/statm` (pages), nil where there is no procfs.
    static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

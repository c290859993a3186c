public import Foundation
import Logging
import PostgresNIO

/// Another rebuild of the projection holds its claim (`read_models.rebuilds`): two rebuilds
/// share the `__rebuild` tables, and the second would drop or mix the first's (rows counted
/// twice, others missing) while the positions it swaps in say every event is applied.
public struct RebuildInProgress: Error, CustomStringConvertible, Sendable {
    public var projection: String
    /// The rebuild that holds the claim: its instance and run.
    public var owner: String
    public var startedAt: Date
    public var heartbeatAt: Date?
    public var description: String {
        "a rebuild of \(projection) is in progress: \(owner), started \(startedAt.formatted(.iso8601)), last heartbeat "
            + (heartbeatAt.map { $0.formatted(.iso8601) } ?? "none")
    }
}

/// This rebuild's claim expired (no heartbeat for `claimExpiry`) and another rebuild took it:
/// this one must not swap.
public struct RebuildClaimLost: Error, CustomStringConvertible, Sendable {
    public var projection: String
    public var owner: String
    public var description: String { "the rebuild of \(projection) by \(owner) lost its claim (expired, taken by another rebuild); nothing swapped" }
}

extension ProjectionRebuilder {
    /// A rebuild is exclusive per projection across instances: a `running` row whose owner
    /// beat within `claimExpiry` refuses the claim; a crashed rebuild's row expires.
    func claim() async throws {
        let expiry = Double(claimExpiry.components.seconds)
        let claimed = try await client.liveQuery(
            """
            INSERT INTO read_models.rebuilds AS r (projection, status, owner, heartbeat_at) VALUES (\(projection.name), 'running', \(owner), now())
            ON CONFLICT (projection) DO UPDATE SET status = 'running', owner = EXCLUDED.owner, heartbeat_at = now(), position = 0,
                target_position = 0, events_applied = 0, started_at = now(), finished_at = NULL, error = NULL
            WHERE r.status <> 'running' OR r.heartbeat_at IS NULL OR r.heartbeat_at < now() - make_interval(secs => \(expiry))
            RETURNING projection
            """, logger: logger)
        guard claimed.isEmpty else { return }
        let holder = try await client.liveQuery(
            "SELECT coalesce(owner, 'unknown'), started_at, heartbeat_at FROM read_models.rebuilds WHERE projection = \(projection.name)",
            logger: logger
        ).first?.decode((String, Date, Date?).self)
        throw RebuildInProgress(
            projection: projection.name, owner: holder?.0 ?? "unknown", startedAt: holder?.1 ?? Date(), heartbeatAt: holder?.2 ?? nil)
    }

    /// Keeps the claim alive while the rebuild runs (phases without a chunk write, such as the
    /// index builds, can take minutes).
    func heartbeat() -> Task<Void, Never> {
        let interval = claimExpiry / 4
        return Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                _ = try? await client.liveQuery(
                    """
                    UPDATE read_models.rebuilds SET heartbeat_at = now()
                    WHERE projection = \(projection.name) AND owner = \(owner) AND status = 'running'
                    """, logger: logger)
            }
        }
    }

    /// Inside the swap's transaction: the claim is still this rebuild's (locked until commit).
    func holdsClaim(on connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            """
            SELECT 1 FROM read_models.rebuilds WHERE projection = \(projection.name) AND owner = \(owner) AND status = 'running' FOR UPDATE
            """, logger: logger
        ).collect()
        guard !rows.isEmpty else { throw RebuildClaimLost(projection: projection.name, owner: owner) }
    }

    /// A failed rebuild gives its claim up (only its own: a refused one touches nothing).
    func recordFailure(_ error: any Error) async {
        _ = try? await client.liveQuery(
            """
            UPDATE read_models.rebuilds SET status = 'failed', finished_at = now(), error = \(StorableText.escaped(String(describing: error), limit: 8_000))
            WHERE projection = \(projection.name) AND owner = \(owner) AND status = 'running'
            """, logger: logger)
    }
}

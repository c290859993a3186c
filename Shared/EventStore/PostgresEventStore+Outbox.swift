public import Foundation
import PostgresNIO

/// Operator views and actions on the outbox: is it draining, and republishing after a lost
/// cluster or a recreated topic.
extension PostgresEventStore {
    public struct TopicBacklog: Codable, Sendable {
        public var topic: String
        public var pending: Int64
        /// Age of the oldest unpublished event, in seconds (nil when nothing is pending).
        public var oldestPendingSeconds: Double?
        public var lastPublishedAt: Date?
    }

    /// Pending (unpublished) events per topic and the age of the oldest.
    public func outboxBacklog() async throws -> [TopicBacklog] {
        try await client.liveQuery(
            """
            SELECT topic, count(*) FILTER (WHERE published_at IS NULL)::int8,
                   extract(epoch FROM now() - min(created_at) FILTER (WHERE published_at IS NULL))::float8,
                   max(published_at)
            FROM event_store.outbox GROUP BY topic ORDER BY topic
            """, logger: logger
        ).map { row in
            let (topic, pending, oldest, last) = try row.decode((String, Int64, Double?, Date?).self)
            return TopicBacklog(topic: topic, pending: pending, oldestPendingSeconds: oldest, lastPublishedAt: last)
        }
    }

    /// Queues the events from global position `from` through `through` (nil: the end) to be
    /// published again, by position, by the relay. For disaster recovery: consumers see
    /// the copies as the redeliveries they are (same event ids and stream versions).
    /// Returns how many events were queued.
    public func republish(from: Int64, through: Int64?) async throws -> Int64 {
        let last = through ?? Int64.max
        let types = try await client.liveQuery(
            "SELECT DISTINCT stream_type FROM event_store.events WHERE global_position BETWEEN \(from) AND \(last)", logger: logger
        ).map { try $0.decode(String.self) }
        guard !types.isEmpty else { return 0 }
        let topics = types.map(topicForStreamType)
        let rows = try await client.liveQuery(
            """
            WITH queued AS (
                INSERT INTO event_store.outbox (global_position, stream_id, topic)
                SELECT e.global_position, e.stream_id, m.topic
                FROM event_store.events e JOIN unnest(\(types)::text[], \(topics)::text[]) AS m(stream_type, topic) ON m.stream_type = e.stream_type
                WHERE e.global_position BETWEEN \(from) AND \(last)
                ON CONFLICT (global_position) DO UPDATE SET published_at = NULL, created_at = now()
                RETURNING 1)
            SELECT count(*)::int8 FROM queued
            """, logger: logger
        )
        return try rows.first?.decode(Int64.self) ?? 0
    }
}

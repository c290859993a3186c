public import Logging
public import PostgresNIO

/// An operator moving a processor's checkpoints. Running instances notice at their next batch:
/// its compare-and-set on the checkpoint fails (fenced) and they read again from the new offset.
public enum CheckpointReset {
    /// Sets the next offset of `topic`'s partitions (or one) to `offset`; returns how many
    /// checkpoints moved. A single partition without a checkpoint yet gets one.
    public static func reset(
        processor: String, topic: String, partition: Int32?, to offset: Int64, operator name: String, client: PostgresClient, logger: Logger
    ) async throws -> Int {
        let owner = "reset by \(name)"
        if let partition {
            return try await client.liveQuery(
                """
                INSERT INTO read_models.checkpoints (processor, topic, partition, next_offset, owner)
                VALUES (\(processor), \(topic), \(partition), \(offset), \(owner))
                ON CONFLICT (processor, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, owner = EXCLUDED.owner, updated_at = now()
                RETURNING 1
                """, logger: logger
            ).count
        }
        return try await client.liveQuery(
            """
            UPDATE read_models.checkpoints SET next_offset = \(offset), owner = \(owner), updated_at = now()
            WHERE processor = \(processor) AND topic = \(topic) RETURNING 1
            """, logger: logger
        ).count
    }
}

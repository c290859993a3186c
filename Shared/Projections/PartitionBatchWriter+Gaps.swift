import EventSourcing
import EventStore
import Foundation
import Kafka
import PostgresNIO

extension PartitionBatchWriter {
    /// What to do with an event whose stream may have a gap before it.
    enum GapOutcome {
        /// Apply these, in sequence: the missing events read from the store, then the event.
        case inOrder([RecordedEvent])
        /// The store does not hold every event between: the event cannot be applied in sequence.
        case unfillable(reason: String)
    }

    /// The event, preceded by its stream's events after `arrived` that have not arrived (the relay
    /// lost a send, a checkpoint was moved forward, an unreadable record was parked), read from
    /// the event store. A record can claim any version (`Int64.max`): the gap is compared by
    /// counting, never by building its range, and read only when the store holds all of it.
    func closingGap(before event: RecordedEvent, arrived: Int64, on connection: PostgresConnection) async throws -> GapOutcome {
        // Versions are 1 or more (the envelope check), so `streamVersion - 1` cannot overflow;
        // `arrived + 1` could.
        let gap = event.streamVersion - 1 - arrived
        guard gap > 0 else { return .inOrder([event]) }
        let held = try await connection.query(
            """
            SELECT count(*)::int8 FROM event_store.events
            WHERE stream_id = \(event.streamID) AND stream_version > \(arrived) AND stream_version < \(event.streamVersion)
            """, logger: logger
        ).collect().first?.decode(Int64.self) ?? 0
        // Versions are unique per stream: as many events as the gap is wide, all inside it, is
        // the whole gap (events are never deleted, so the read below finds them all).
        let missing = held == gap
            ? try await PostgresEventStore.events(of: event.streamID, after: arrived, before: event.streamVersion, on: connection, logger: logger)
            : []
        guard held == gap, Int64(missing.count) == gap else {
            versionGaps.increment()
            logger.error(
                "event ahead of a gap its stream's events in the store cannot fill; parked",
                metadata: ["stream": "\(event.streamID)", "version": "\(event.streamVersion)", "expected": "\(arrived + 1)", "held": "\(held)"])
            return .unfillable(
                reason: """
                    stream-version \(event.streamVersion) of \(event.streamID) is ahead of a gap the event store cannot fill: \
                    expected version \(arrived + 1), the store holds \(held) of the \(gap) events before it; not applied \
                    (resolved by itself if this event arrives again in sequence)
                    """)
        }
        gapsFilled.increment(by: missing.count)
        logger.warning(
            "event ahead of a gap in its stream: missing events read from the event store",
            metadata: ["stream": "\(event.streamID)", "version": "\(event.streamVersion)", "filled": "\(missing.count)"])
        return .inOrder(missing + [event])
    }

    /// Events of a stream's gap are resolved for the processor once they arrive in sequence (a copy
    /// resent by the relay after a lost send): the letter no longer needs an operator.
    func resolveGapLetter(of event: RecordedEvent, on connection: PostgresConnection) async throws {
        _ = try await connection.query(
            """
            UPDATE read_models.dead_letters SET status = 'replayed', resolved_at = now(), resolved_by = \(instanceID),
                resolution = 'arrived again in sequence: applied'
            WHERE projection = \(arrivalKey) AND event_id = \(event.eventID) AND status = 'parked'
            """, logger: logger
        ).collect()
    }
}

import ConsumerRuntime
import EventSourcing
import EventStore
import Foundation
import PostgresNIO

extension PartitionBatchWriter {
    /// Records published before `recorded-at-us` existed carry their time only as `ce_time`, to
    /// the millisecond; a rebuild reads the same event from the store, to the microsecond. A read
    /// model must not depend on the path an event took (an upgrade in place showed 300 rows of
    /// difference between the live read model and a rebuild), so such events take the time the
    /// store recorded: one query per batch that holds any, none otherwise. An event the store
    /// does not hold (written by someone else) keeps the time it came with.
    func withStoredTimes(_ deliveries: [Delivery<DecodedEvent>], on connection: PostgresConnection) async throws -> [Delivery<DecodedEvent>] {
        let imprecise = deliveries.compactMap { delivery -> UUID? in
            guard case .event(let event) = delivery.item, event.metadata[EventKafkaMapping.timePrecisionKey] != nil else { return nil }
            return event.eventID
        }
        guard !imprecise.isEmpty else { return deliveries }
        var stored: [UUID: Date] = [:]
        for row in try await connection.query(
            "SELECT event_id, recorded_at FROM event_store.events WHERE event_id = ANY(\(imprecise))", logger: logger
        ).collect() {
            let (id, time) = try row.decode((UUID, Date).self)
            stored[id] = time
        }
        return deliveries.map { delivery in
            guard case .event(var event) = delivery.item, let time = stored[event.eventID] else { return delivery }
            event.recordedAt = time
            event.metadata[EventKafkaMapping.timePrecisionKey] = nil
            return Delivery(record: delivery.record, item: .event(event))
        }
    }
}

public import EventSourcing
import ConsumerRuntime
import EventStore
import Foundation
import Kafka
public import Logging
public import PostgresNIO

extension Projection {
    /// Applies the events this projection has not applied yet through the runtime's own batch
    /// path (`PartitionBatchWriter`: stream positions, arrival rows, the checkpoint), as the
    /// records of one partition of a topic of its own: what the processor does with a batch,
    /// without Kafka. Each call's records get new offsets (a redelivery arrives as a new record,
    /// as a relay's resend does), so a redelivered event is caught by the stream positions, not
    /// the checkpoint. Call it inside a transaction. For tests (`ProjectionSpecification`) and
    /// tools; returns the number of events applied.
    @discardableResult
    public func applyNew(_ events: [RecordedEvent], on connection: PostgresConnection, logger: Logger) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        let processor = "apply-new:\(name)"
        let topic = "apply-new"
        let next = try await connection.query(
            "SELECT next_offset FROM read_models.checkpoints WHERE processor = \(processor) AND topic = \(topic) AND partition = 0",
            logger: logger
        ).collect().first?.decode(Int64.self) ?? 0
        let deliveries = events.enumerated().map { index, event in
            Delivery(
                record: KafkaConsumedMessage(
                    topic: topic, partition: 0, offset: next + Int64(index), key: Array(event.streamID.utf8), value: event.payload, headers: []),
                item: DecodedEvent.event(event))
        }
        let writer = PartitionBatchWriter(
            processor: processor, instanceID: processor, projections: [self], retry: RetryPolicy(attempts: 1), logger: logger)
        guard case .committed(_, let applied, _, _) = try await writer.write(deliveries, on: connection, careful: false) else { return 0 }
        return applied
    }
}

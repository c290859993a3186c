import CheckoutSuite
import CheckoutReadModels
import ConsumerRuntime
import EventSourcing
import EventStore
import Foundation
@testable import Kafka
import PostgresNIO
@testable import Projections
import SuiteTesting
import Testing

/// The checkpoint is written with the read models and moved only from where the batch starts:
/// a paused instance that lost its partition cannot write its stale batch over the new owner's
/// work, and the checkpoint never moves backwards.
@Suite("Checkpoint fencing")
struct CheckpointFencingTests {
    static let topic = CheckoutNames.Topics.stockEvents

    /// Records as a consumer would hand them over: restocks of stock-F at offsets `offsets`
    /// (offset n carries stream version n + 1).
    private func records(_ offsets: ClosedRange<Int64>) -> [KafkaConsumedMessage] {
        offsets.map { offset in
            let event = TestEvents.record(
                stream: "stock-F", streamType: "stock", version: offset + 1, type: "StockRestocked", payload: #"{"sku":"F","quantity":1}"#)
            let message = TestEvents.message(event, topic: Self.topic)
            return KafkaConsumedMessage(
                topic: Self.topic, partition: 0, offset: offset, key: message.key, value: message.value, headers: message.headers,
                timestampMilliseconds: nil)
        }
    }

    private func writer(_ instance: String) -> PartitionBatchWriter {
        PartitionBatchWriter(
            processor: CheckoutNames.Groups.readModels, instanceID: instance, projections: [StockLevelsProjection()],
            retry: RetryPolicy(attempts: 1, initialDelay: .milliseconds(1)), logger: testLogger(instance))
    }

    private func write(_ writer: PartitionBatchWriter, _ batch: [KafkaConsumedMessage], _ client: PostgresClient) async throws -> String {
        do {
            let outcome = try await client.withTransaction(logger: testLogger("tx")) { connection in
                try await writer.write(batch.map { Delivery(record: $0, item: DecodedEvent($0)) }, on: connection, careful: false)
            }
            switch outcome {
            case .committed(let next, let applied, _, _): return "committed \(next) applied \(applied)"
            case .nothingNew: return "nothing new"
            case .fenced(let checkpoint): return "fenced at \(checkpoint)"
            }
        } catch let error as PostgresTransactionError {
            if let fenced = error.closureError as? PartitionBatchWriter.Fenced { return "fenced at \(fenced.checkpoint)" }
            throw error
        }
    }

    private func checkpoint(_ client: PostgresClient) async throws -> (offset: Int64, owner: String)? {
        try await client.query(
            "SELECT next_offset, owner FROM read_models.checkpoints WHERE processor = 'checkout-read-models' AND partition = 0",
            logger: testLogger("q")
        ).collect().first?.decode((Int64, String).self)
    }

    @Test("a paused instance's stale batch is rejected and the checkpoint never moves backwards")
    func staleBatchRejected() async throws {
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            let paused = writer("paused")
            let owner = writer("new-owner")

            #expect(try await write(paused, records(0...9), client) == "committed 10 applied 10")
            // The paused instance had polled 10...14 before it stopped; meanwhile its partition
            // moved and the new owner applied 10...19.
            let stale = records(10...14)
            #expect(try await write(owner, records(10...19), client) == "committed 20 applied 10")
            #expect(try await checkpoint(client)?.offset == 20)

            // The paused instance wakes and writes what it had: rejected, nothing written.
            #expect(try await write(paused, stale, client) == "nothing new")
            let afterStale = try await checkpoint(client)
            #expect(afterStale?.offset == 20 && afterStale?.owner == "new-owner", "never backwards, owner kept")
            // A batch that does not start at the checkpoint (records 20...24 were never seen by it) is fenced.
            #expect(try await write(paused, records(25...29), client) == "fenced at 20")
            #expect(try await checkpoint(client)?.offset == 20)
            #expect(try await scalar(client, "SELECT on_hand::int8 FROM read_models.stock_levels WHERE sku = 'F'") == 20, "applied once each")
        }
    }

    @Test("two members write a partition's first batch at once (no checkpoint row yet, both past their reads): one commits, the other is fenced, nothing applied twice")
    func concurrentFirstBatches() async throws {
        try await TestDatabase.withFresh { client, _ in
            try await migrateReadModelsVerbose(client)
            // Each waits, after reading the checkpoint (none) and the positions (none), until the
            // other has read them too: neither sees the other's writes.
            let ready = TestCounter()
            func racing(_ instance: String) -> PartitionBatchWriter {
                var racing = writer(instance)
                racing.afterReadingPositions = {
                    ready.increment()
                    try await waitUntil("both members read the partition's state", timeout: .seconds(30)) { ready.value >= 2 }
                }
                return racing
            }
            let first = racing("a")
            let second = racing("b")
            async let a = write(first, records(0...9), client)
            async let b = write(second, records(0...9), client)
            let outcomes = try await [a, b].sorted()
            #expect(outcomes == ["committed 10 applied 10", "fenced at 0"], "\(outcomes)")
            #expect(try await scalar(client, "SELECT on_hand::int8 FROM read_models.stock_levels WHERE sku = 'F'") == 10, "applied once")
            #expect(try await checkpoint(client)?.offset == 10)
        }
    }
}

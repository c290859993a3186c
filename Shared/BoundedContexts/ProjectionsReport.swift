import ConsumerRuntime
import Foundation
import Kafka
import PostgresNIO
import ServiceHTTP

/// `GET /projections`: per partition the checkpoint, the end offset, the lag and the instance
/// that wrote the checkpoint; per projection its state and parked dead letters.
struct ProjectionsReport: Encodable {
    struct PartitionView: Encodable {
        var topic: String
        var partition: Int32
        var checkpoint: Int64?
        var endOffset: Int64?
        var lag: Int64?
        var owner: String?
        var ownedHere: Bool
    }

    struct ProjectionView: Encodable {
        var name: String
        var state: String
        var parkedDeadLetters: Int64
        var rebuild: RebuildView?
    }

    struct RebuildView: Encodable {
        var status: String
        var position: Int64
        var eventsApplied: Int64
        var startedAt: Date
        var finishedAt: Date?
        var error: String?
    }

    var processor: String
    var instance: String
    var state: String
    var partitions: [PartitionView]
    var projections: [ProjectionView]

    static func make(runtime: ProjectionRuntime) async throws -> ProjectionsReport {
        let client = runtime.context.postgres
        let logger = runtime.context.logger
        var checkpoints: [KafkaTopicPartition: (Int64, String)] = [:]
        for row in try await client.liveQuery(
            "SELECT topic, partition, next_offset, owner FROM read_models.checkpoints WHERE processor = \(runtime.processorName)",
            logger: logger
        ) {
            let (topic, partition, next, owner) = try row.decode((String, Int32, Int64, String).self)
            checkpoints[KafkaTopicPartition(topic: topic, partition: partition)] = (next, owner)
        }
        let status = runtime.processor.status
        let owned = status.ownedPartitions
        var partitions: [KafkaTopicPartition] = Array(Set(checkpoints.keys).union(owned.keys))
        if let consumer = status.consumer, let metadata = try? await consumer.metadata(timeout: .seconds(2)) {
            for topic in runtime.topics {
                for number in 0..<(metadata.partitionCounts[topic] ?? 0) {
                    partitions.append(KafkaTopicPartition(topic: topic, partition: Int32(number)))
                }
            }
        }
        var views: [PartitionView] = []
        for partition in Set(partitions).sorted() {
            let end = try? await status.consumer?.watermarks(partition, timeout: .seconds(2)).high
            let checkpoint = checkpoints[partition]?.0
            views.append(
                PartitionView(
                    topic: partition.topic, partition: partition.partition, checkpoint: checkpoint, endOffset: end,
                    lag: end.map { $0 - (checkpoint ?? 0) }, owner: checkpoints[partition]?.1, ownedHere: owned.keys.contains(partition)))
        }
        var parked: [String: Int64] = [:]
        for row in try await client.liveQuery(
            "SELECT projection, count(*)::int8 FROM read_models.dead_letters WHERE status = 'parked' GROUP BY projection", logger: logger
        ) {
            let (name, count) = try row.decode((String, Int64).self)
            parked[name] = count
        }
        var rebuilds: [String: RebuildView] = [:]
        for row in try await client.liveQuery(
            "SELECT projection, status, position, events_applied, started_at, finished_at, error FROM read_models.rebuilds", logger: logger
        ) {
            let r = try row.decode((String, String, Int64, Int64, Date, Date?, String?).self)
            rebuilds[r.0] = RebuildView(status: r.1, position: r.2, eventsApplied: r.3, startedAt: r.4, finishedAt: r.5, error: r.6)
        }
        let projections = runtime.deadLetters.projections.map {
            ProjectionView(
                name: $0.name, state: rebuilds[$0.name]?.status == "running" ? "rebuilding" : status.state,
                parkedDeadLetters: parked[$0.name] ?? 0, rebuild: rebuilds[$0.name])
        }
        return ProjectionsReport(
            processor: runtime.processorName, instance: runtime.context.configuration.instanceID, state: status.state,
            partitions: views, projections: projections)
    }
}

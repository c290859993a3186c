import Checkout
import CheckoutReadModels
import Foundation
import Hummingbird
import Kafka
import PostgresNIO
import Projections
import ServiceSupport

/// Read-model queries and projection status.
struct QueryRoutes: Sendable {
    let queries: ReadModelQueries
    let runtime: ProjectionRuntime

    func register(on router: Router<BasicRequestContext>) {
        router.get("/orders/:orderId") { _, context in
            let id = try Self.parameter("orderId", context)
            guard let order = try await queries.order(id) else { throw ServiceError.notFound("order", id: id) }
            return try JSONResponse.make(order)
        }
        router.get("/customers/:customerId/orders") { request, context in
            let id = try Self.parameter("customerId", context)
            let limit = try Self.limit(request)
            guard let customer = try await queries.customer(id, limit: limit) else { throw ServiceError.notFound("customer", id: id) }
            return try JSONResponse.make(customer)
        }
        router.get("/stock/:sku") { _, context in
            let sku = try Self.parameter("sku", context)
            guard let stock = try await queries.stock(sku) else { throw ServiceError.notFound("sku", id: sku) }
            return try JSONResponse.make(stock)
        }
        router.get("/projections") { _, _ in
            try JSONResponse.make(try await ProjectionsReport.make(runtime: runtime))
        }
    }

    /// An order id, customer id or SKU from the path: 400 unless it keeps `InputLimits`' id rule
    /// (so that no text PostgreSQL refuses, a NUL for one, reaches a query).
    static func parameter(_ name: String, _ context: BasicRequestContext) throws -> String {
        guard let value = context.parameters.get(name), !value.isEmpty else { throw ServiceError.invalidField(name, reason: "is required") }
        guard InputLimits.isValidID(value) else {
            throw ServiceError.invalidField(name, reason: "must be 1 to \(InputLimits.maxIDLength) characters of A-Z a-z 0-9 . _ -")
        }
        return value
    }

    static func limit(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return 100 }
        guard let value = Int(text), (1...1_000).contains(value) else {
            throw ServiceError.invalidField("limit", reason: "must be a whole number from 1 to 1000")
        }
        return value
    }
}

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
            "SELECT topic, partition, next_offset, owner FROM read_models.checkpoints WHERE processor = \(ProjectionRuntime.processorName)",
            logger: logger
        ) {
            let (topic, partition, next, owner) = try row.decode((String, Int32, Int64, String).self)
            checkpoints[KafkaTopicPartition(topic: topic, partition: partition)] = (next, owner)
        }
        let status = runtime.processor.status
        let owned = status.ownedPartitions
        var partitions: [KafkaTopicPartition] = Array(Set(checkpoints.keys).union(owned.keys))
        if let consumer = status.consumer, let metadata = try? await consumer.metadata(timeout: .seconds(2)) {
            for topic in ProjectionRuntime.topics {
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
            processor: ProjectionRuntime.processorName, instance: runtime.context.configuration.instanceID, state: status.state,
            partitions: views, projections: projections)
    }
}

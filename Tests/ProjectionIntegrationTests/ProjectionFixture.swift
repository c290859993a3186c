import CheckoutSuite
import CheckoutReadModels
import EventSourcing
import Foundation
import Kafka
import PostgresNIO
import Projections
import SuiteTesting

let eventTopics = CheckoutNames.Topics.events

func migrateReadModels(_ client: PostgresClient) async throws {
    try await ProjectionSchema.migrate(readModels: CheckoutReadModels.all, roles: CheckoutNames.roles, on: client, logger: testLogger("migrate"))
}

func publish(_ events: [RecordedEvent], to kafka: TestKafka, producer: KafkaProducer) async throws {
    let messages = events.map { TestEvents.message($0, topic: "checkout.\($0.streamType == "stock" ? "stock" : $0.streamType == "order" ? "orders" : "payments").events") }
    for chunk in stride(from: 0, to: messages.count, by: 5_000) {
        for result in await producer.send(Array(messages[chunk..<min(chunk + 5_000, messages.count)])) { _ = try result.get() }
    }
}

struct QueryFailed: Error, CustomStringConvertible {
    var description: String
}

func scalar(_ client: PostgresClient, _ sql: String) async throws -> Int64 {
    do {
        return try await client.query(PostgresQuery(unsafeSQL: sql), logger: testLogger("q")).collect().first.map { try $0.decode(Int64.self) } ?? -1
    } catch {
        throw QueryFailed(description: "\(sql): \(String(reflecting: error))")
    }
}

func migrateReadModelsVerbose(_ client: PostgresClient) async throws {
    do { try await migrateReadModels(client) } catch { throw QueryFailed(description: String(reflecting: error)) }
}

func processor(
    _ projections: [any Projection], client: PostgresClient, kafka: TestKafka, instance: String, retry: RetryPolicy = RetryPolicy(attempts: 3, initialDelay: .milliseconds(10))
) -> ProjectionProcessor {
    var configuration = ProjectionProcessor.Configuration(
        name: CheckoutNames.Groups.readModels, topics: eventTopics, instanceID: instance, bootstrapServers: kafka.bootstrapServers)
    configuration.retry = retry
    configuration.deadLetterTopic = nil
    return ProjectionProcessor(configuration: configuration, projections: projections, client: client, producer: nil, logger: testLogger(instance))
}

/// Records every stock event it applies, in the order applied (`public.applied_log`), for tests
/// that check order rather than sums.
struct RecordingProjection: Projection {
    let name = "applied-log"
    let eventTypes: Set<String> = ["StockRestocked"]
    let tables: [String] = []

    static func createTable(_ client: PostgresClient) async throws {
        _ = try await client.query(
            "CREATE TABLE public.applied_log (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream_id text NOT NULL, version bigint NOT NULL)",
            logger: testLogger("q")
        ).collect()
    }

    static func applied(_ client: PostgresClient, stream: String) async throws -> [Int64] {
        try await client.query("SELECT version FROM public.applied_log WHERE stream_id = \(stream) ORDER BY id", logger: testLogger("q"))
            .collect().map { try $0.decode(Int64.self) }
    }

    func apply(_ events: [RecordedEvent], to target: ProjectionTarget) async throws {
        try await target.run(
            """
            INSERT INTO public.applied_log (stream_id, version)
            SELECT * FROM unnest(\(events.map(\.streamID))::text[], \(events.map(\.streamVersion))::int8[])
            """)
    }
}

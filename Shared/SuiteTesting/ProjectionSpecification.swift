public import EventSourcing
import Foundation
import Logging
public import PostgresNIO
public import Projections
import ServiceSupport
public import Testing

/// Given these events, then these rows: a read model's specification, checked against real
/// PostgreSQL (a fresh database; no Kafka). The events are delivered several ways, and every
/// way must leave the same rows: all in one batch, one event per batch, batches cut at seeded
/// random boundaries, every batch delivered twice, and the whole history again after a partial
/// delivery. So a projection whose fold depends on where batches end, or that applies a
/// redelivered event twice, fails here. Each batch goes through the runtime's own batch path
/// (`Projection.applyNew`: `PartitionBatchWriter` with its stream positions and checkpoint), so
/// the runtime's redelivery check is what these deliveries rely on.
public struct ProjectionSpecification: Sendable {
    /// Runs once on the fresh database before any delivery: what the projection reads besides
    /// its events (the personal data keys, for one).
    public typealias Preparation = @Sendable (PostgresClient) async throws -> Void

    let readModel: ReadModel
    let history: [RecordedEvent]
    let preparation: Preparation?
    /// Roles the schema's grants name (any: the database is fresh).
    let roles = ServiceRoles(commandService: "spec_command_service", projectionService: "spec_projection_service", sagaOrchestrator: "spec_saga_orchestrator")

    public init(_ readModel: ReadModel, given history: [RecordedEvent] = [], preparing preparation: Preparation? = nil) {
        self.readModel = readModel
        self.history = history
        self.preparation = preparation
    }

    public func given(_ events: [RecordedEvent]) -> Self { Self(readModel, given: history + events, preparing: preparation) }

    /// The ways the history is delivered, each a list of batches.
    var deliveries: [(name: String, batches: [[RecordedEvent]])] {
        let events = history
        var random = SeededGenerator(seed: 42)
        var cut: [[RecordedEvent]] = []
        var index = 0
        while index < events.count {
            let size = Int(random.next() % 4) + 1
            cut.append(Array(events[index..<min(index + size, events.count)]))
            index += size
        }
        let half = Array(events.prefix(events.count / 2))
        return [
            ("one batch", [events]),
            ("one event per batch", events.map { [$0] }),
            ("random boundaries", cut),
            ("every batch twice", cut.flatMap { [$0, $0] }),
            ("half, then everything again", [half, events]),
        ]
    }

    /// Runs `query` (its columns in sequence; any `ORDER BY` is kept) after each delivery and
    /// expects `rows`, each column as PostgreSQL prints it as text (`NULL` for null).
    public func then(_ query: String, _ rows: [[String]], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let logger = testLogger("projection-spec")
        let readModel = self.readModel
        let projection = readModel.projection
        let deliveries = self.deliveries
        let preparation = self.preparation
        try await TestDatabase.withFresh { client, _ in
            try await ProjectionSchema.migrate(readModels: [readModel], roles: roles, on: client, logger: logger)
            try await preparation?(client)
            for delivery in deliveries {
                try await reset(projection, client: client, logger: logger)
                for batch in delivery.batches {
                    _ = try await client.withTransaction(logger: logger) { connection in
                        try await projection.applyNew(batch, on: connection, logger: logger)
                    }
                }
                let actual = try await client.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT array(SELECT coalesce(value, 'NULL') FROM json_each_text(row_to_json(q))) FROM (\(query)) AS q
                            """), logger: logger
                ).collect().map { try $0.decode([String].self) }
                #expect(actual == rows, "delivered as \(delivery.name)", sourceLocation: sourceLocation)
            }
        }
    }

    private func reset(_ projection: any Projection, client: PostgresClient, logger: Logger) async throws {
        for table in projection.tables {
            _ = try await client.query(PostgresQuery(unsafeSQL: "TRUNCATE read_models.\(table)"), logger: logger).collect()
        }
        // The runtime's bookkeeping too (the database is this specification's alone): positions,
        // the processor's arrival rows and its checkpoint.
        _ = try await client.query("DELETE FROM read_models.stream_positions", logger: logger).collect()
        _ = try await client.query("DELETE FROM read_models.checkpoints", logger: logger).collect()
    }
}

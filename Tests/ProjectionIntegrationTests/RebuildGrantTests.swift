import CheckoutReadModels
import CheckoutSuite
import EventSourcing
import EventStore
import Projections
import SuiteTesting
import Testing

/// A context may grant another service's role the right to read one of its read models (the
/// returns context lets the command service read what was bought): a rebuild swaps in fresh
/// tables, and the grant must come with them.
@Suite("Rebuild keeps grants")
struct RebuildGrantTests {
    @Test("a role granted SELECT on a read model's table can still read it after a rebuild")
    func grantSurvivesSwap() async throws {
        try await TestDatabase.withFresh { client, _ in
            let store = PostgresEventStore(client: client, logger: testLogger("store"), topicForStreamType: CheckoutNames.Topics.topic(forStreamType:))
            try await store.migrate(roles: CheckoutNames.roles)
            try await migrateReadModels(client)
            let reader = CheckoutNames.roles.commandService
            _ = try await client.query("GRANT USAGE ON SCHEMA read_models TO \(unescaped: reader)", logger: testLogger("q")).collect()
            _ = try await client.query("GRANT SELECT ON read_models.stock_levels TO \(unescaped: reader)", logger: testLogger("q")).collect()
            _ = try await store.append(
                to: StreamName(category: "stock", id: "G"), expected: .exact(0),
                events: [NewEvent(encoded: EncodedEvent(type: "StockRestocked", schemaVersion: 1, payload: Array(#"{"sku":"G","quantity":3}"#.utf8)), correlationID: "g")])
            _ = try await ProjectionRebuilder(projection: StockLevelsProjection(), store: store, logger: testLogger("rebuild")).rebuild()
            let readable = try await client.withConnection { connection in
                _ = try await connection.query("SET ROLE \(unescaped: reader)", logger: testLogger("q")).collect()
                let rows = try await connection.query("SELECT on_hand FROM read_models.stock_levels WHERE sku = 'G'", logger: testLogger("q")).collect()
                _ = try await connection.query("RESET ROLE", logger: testLogger("q")).collect()
                return try rows.first?.decode(Int64.self)
            }
            #expect(readable == 3)
        }
    }
}

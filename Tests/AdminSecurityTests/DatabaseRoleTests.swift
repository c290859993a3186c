import CheckoutSuite
import CheckoutReadModels
import EventStore
import Logging
import PostgresNIO
import Projections
import Sagas
import ServiceHTTP
import ServiceSupport
import SuiteTesting
import Testing

/// Each service's PostgreSQL role can do its own job and nothing of another service's.
@Suite("PostgreSQL roles per service", .serialized)
struct DatabaseRoleTests {
    enum Outcome: Equatable {
        case allowed
        case denied
    }

    /// Runs `sql` as `role` in a transaction that is rolled back (a failed one is discarded with
    /// the client).
    private func attempt(_ sql: String, as role: String?, databaseURL: String) async throws -> Outcome {
        let client = PostgresClient(configuration: try DatabaseURL(databaseURL).clientConfiguration(role: role), backgroundLogger: testLogger("role"))
        return try await withThrowingTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            do {
                try await client.withConnection { connection in
                    _ = try await connection.query("BEGIN", logger: testLogger("role")).collect()
                    _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: testLogger("role")).collect()
                    _ = try await connection.query("ROLLBACK", logger: testLogger("role")).collect()
                }
                return .allowed
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42501" {
                return .denied
            }
        }
    }

    /// Every service's migrations, with their roles and grants, as the services apply them.
    private func migrateEverySchema(_ client: PostgresClient, logger: Logger) async throws {
        try await AuditSchema.migrator(roles: CheckoutNames.roles).run(on: client, logger: logger)
        try await EventStoreSchema.migrator(roles: CheckoutNames.roles).run(on: client, logger: logger)
        try await ProjectionSchema.migrate(readModels: CheckoutReadModels.all, roles: CheckoutNames.roles, on: client, logger: logger)
        try await SagaSchema.migrator(roles: CheckoutNames.roles).run(on: client, logger: logger)
    }

    @Test("the projection role cannot write the event store; the command role cannot write read models; the saga role neither, nor read personal data keys")
    func leastPrivilege() async throws {
        try await TestDatabase.withFresh { client, url in
            let logger = testLogger("migrate")
            try await migrateEverySchema(client, logger: logger)

            let writeEvent = """
                INSERT INTO event_store.events (global_position, event_id, stream_id, stream_type, stream_version, event_type, schema_version, payload, metadata, correlation_id)
                VALUES (event_store.reserve_positions(1), gen_random_uuid(), 'order-x', 'order', 1, 'OrderPlaced', 1, '{}', '{}', 'c')
                """
            let writeReadModel = "INSERT INTO read_models.stock_levels (sku, on_hand) VALUES ('X', 1)"
            let writeSaga = "INSERT INTO sagas.history (saga, correlation_id, kind, detail, step, status) VALUES ('s', 'c', 'event', 'd', 's', 'running')"
            let readEvents = "SELECT count(*) FROM event_store.events"
            // As `AdminAudit` writes a row: before the call, returning its id for the result.
            let audit = "INSERT INTO ops.audit_log (service, operator, action, body) VALUES ('s', 'o', 'a', '') RETURNING id"
            let readAudit = "SELECT body FROM ops.audit_log"
            let eraseAudit = "DELETE FROM ops.audit_log"

            // Each role does its own job ...
            #expect(try await attempt(writeEvent, as: CheckoutNames.roles.commandService, databaseURL: url) == .allowed)
            #expect(try await attempt(writeReadModel, as: CheckoutNames.roles.projectionService, databaseURL: url) == .allowed)
            #expect(try await attempt(readEvents, as: CheckoutNames.roles.projectionService, databaseURL: url) == .allowed, "rebuilds read the log")
            #expect(try await attempt(writeSaga, as: CheckoutNames.roles.sagaOrchestrator, databaseURL: url) == .allowed)
            for role in CheckoutNames.roles.all { #expect(try await attempt(audit, as: role, databaseURL: url) == .allowed) }
            // ... and nothing of another's.
            #expect(try await attempt(writeEvent, as: CheckoutNames.roles.projectionService, databaseURL: url) == .denied)
            #expect(try await attempt(writeEvent, as: CheckoutNames.roles.sagaOrchestrator, databaseURL: url) == .denied)
            #expect(try await attempt(writeReadModel, as: CheckoutNames.roles.commandService, databaseURL: url) == .denied)
            #expect(try await attempt(writeReadModel, as: CheckoutNames.roles.sagaOrchestrator, databaseURL: url) == .denied)
            #expect(try await attempt(writeSaga, as: CheckoutNames.roles.commandService, databaseURL: url) == .denied)
            // The orchestrator may read events (to fill a gap in a stream), and nothing else of the event store.
            #expect(try await attempt(readEvents, as: CheckoutNames.roles.sagaOrchestrator, databaseURL: url) == .allowed)
            #expect(try await attempt("SELECT count(*) FROM event_store.command_log", as: CheckoutNames.roles.sagaOrchestrator, databaseURL: url) == .denied)
            for role in CheckoutNames.roles.all { #expect(try await attempt(eraseAudit, as: role, databaseURL: url) == .denied, "the audit log is append-only") }
            for role in CheckoutNames.roles.all { #expect(try await attempt(readAudit, as: role, databaseURL: url) == .denied, "the audit log is write-only") }
            // Personal data keys: the command role makes and deletes them, the projection role
            // reads them (read models show the details), the orchestrator never sees them.
            let readKeys = "SELECT count(*) FROM event_store.personal_data_keys"
            let forgetKeys = "DELETE FROM event_store.personal_data_keys WHERE subject = 'c'"
            #expect(try await attempt(forgetKeys, as: CheckoutNames.roles.commandService, databaseURL: url) == .allowed)
            #expect(try await attempt(readKeys, as: CheckoutNames.roles.projectionService, databaseURL: url) == .allowed)
            #expect(try await attempt(forgetKeys, as: CheckoutNames.roles.projectionService, databaseURL: url) == .denied)
            #expect(try await attempt(readKeys, as: CheckoutNames.roles.sagaOrchestrator, databaseURL: url) == .denied)
        }
    }

    @Test("the event store refuses UPDATE, DELETE and TRUNCATE of events from every role, the owner included")
    func eventsAreAppendOnly() async throws {
        try await TestDatabase.withFresh { client, url in
            let logger = testLogger("migrate")
            try await migrateEverySchema(client, logger: logger)
            _ = try await client.query(
                """
                INSERT INTO event_store.events (global_position, event_id, stream_id, stream_type, stream_version, event_type, schema_version, payload, correlation_id)
                VALUES (event_store.reserve_positions(1), gen_random_uuid(), 'order-x', 'order', 1, 'OrderPlaced', 1, '{}', 'c')
                """, logger: logger
            ).collect()
            let changes = [
                "UPDATE event_store.events SET payload = '{\"changed\":true}'",
                "DELETE FROM event_store.events",
                "TRUNCATE event_store.events",
            ]
            for change in changes {
                for role in CheckoutNames.roles.all {
                    #expect(try await attempt(change, as: role, databaseURL: url) == .denied, "\(role): \(change)")
                }
                // The login user of the tests is a superuser: privileges do not stop it, the triggers do.
                #expect(try await attempt(change, as: nil, databaseURL: url) == .denied, "owner: \(change)")
            }
            #expect(try await client.query("SELECT count(*)::int8 FROM event_store.events", logger: logger).collect().first?.decode(Int64.self) == 1)
        }
    }

    /// Runs `body` with a client whose connections take on `role`.
    private func withRoleClient(_ role: String, databaseURL: String, _ body: @Sendable (PostgresClient) async throws -> Void) async throws {
        let client = PostgresClient(configuration: try DatabaseURL(databaseURL).clientConfiguration(role: role), backgroundLogger: testLogger(role))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }

    @Test("the projection and orchestrator roles cannot take the position lock or a relay's lease, and appends go on while they try")
    func locksOnlyTheOwnerCanTake() async throws {
        try await TestDatabase.withFresh { client, url in
            let logger = testLogger("migrate")
            try await migrateEverySchema(client, logger: logger)
            let roles = CheckoutNames.roles
            let positionLock = "LOCK TABLE event_store.position_lock IN EXCLUSIVE MODE"
            func takeLease(_ table: String) -> [String] {
                [
                    "SELECT * FROM \(table) FOR UPDATE",
                    "INSERT INTO \(table) (relay, owner, expires_at) VALUES ('outbox relay', gen_random_uuid(), now() + interval '1 hour')",
                    "LOCK TABLE \(table) IN EXCLUSIVE MODE",
                ]
            }
            for role in [roles.projectionService, roles.sagaOrchestrator] {
                #expect(try await attempt(positionLock, as: role, databaseURL: url) == .denied, "\(role) took the position lock")
                for statement in takeLease("event_store.relay_lease") {
                    #expect(try await attempt(statement, as: role, databaseURL: url) == .denied, "\(role): \(statement)")
                }
            }
            for role in [roles.projectionService, roles.commandService] {
                for statement in takeLease("sagas.relay_lease") {
                    #expect(try await attempt(statement, as: role, databaseURL: url) == .denied, "\(role): \(statement)")
                }
            }
            #expect(try await attempt(positionLock, as: roles.commandService, databaseURL: url) == .allowed, "the command role takes it")

            // What the other roles CAN take: the old advisory position lock (any role may take
            // any advisory lock) and a reader's lock on the lock table. Appends go on meanwhile.
            for role in [roles.projectionService, roles.sagaOrchestrator] {
                try await withRoleClient(role, databaseURL: url) { intruder in
                    try await withRoleClient(roles.commandService, databaseURL: url) { command in
                        try await intruder.withLiveConnection { held in
                            _ = try await held.query("SELECT pg_advisory_lock(\(Self.oldPositionLockKey))", logger: logger).collect()
                            _ = try await held.query("BEGIN", logger: logger).collect()
                            if role == roles.projectionService {
                                _ = try await held.query("LOCK TABLE event_store.position_lock IN ACCESS SHARE MODE", logger: logger).collect()
                            }
                            let append = Task {
                                try await command.liveQuery(
                                    """
                                    INSERT INTO event_store.events (global_position, event_id, stream_id, stream_type, stream_version, event_type, schema_version, payload, correlation_id)
                                    VALUES (event_store.reserve_positions(1), gen_random_uuid(), 'order-\(unescaped: role)', 'order', 1, 'OrderPlaced', 1, '{}', 'c')
                                    """, logger: logger)
                            }
                            let appended = try await finishes(within: .seconds(5)) { _ = try await append.value }
                            #expect(appended, "an append froze while \(role) held the advisory position lock")
                            append.cancel()
                            _ = try await held.query("ROLLBACK", logger: logger).collect()
                            _ = try await held.query("SELECT pg_advisory_unlock_all()", logger: logger).collect()
                        }
                    }
                }
            }
        }
    }

    /// The advisory lock `reserve_positions` took before issue 22 (`PostgresEventStore.positionLockKey`).
    static let oldPositionLockKey: Int64 = 0x504F_5349_5449_4F4E

    /// True when `operation` finished within `limit` (it is left running otherwise).
    private func finishes(within limit: Duration, _ operation: @escaping @Sendable () async throws -> Void) async throws -> Bool {
        let (outcomes, continuation) = AsyncStream<Result<Bool, any Error>>.makeStream()
        let work = Task {
            do {
                try await operation()
                continuation.yield(.success(true))
            } catch {
                continuation.yield(.failure(error))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            continuation.yield(.success(false))
        }
        var iterator = outcomes.makeAsyncIterator()
        let first = await iterator.next() ?? .success(false)
        timer.cancel()
        _ = work
        return try first.get()
    }
}

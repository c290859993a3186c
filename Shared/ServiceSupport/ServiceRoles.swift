/// Each service's own PostgreSQL role, with only the privileges it needs:
///
/// | role of | may |
/// | --- | --- |
/// | the command service | read and write `event_store` |
/// | the projection service | own `read_models` (rebuilds create, rename and drop tables); read `event_store` |
/// | the saga orchestrator | read and write `sagas`; read `event_store.events` (to fill a gap in a stream) |
///
/// and every one may add to the admin audit log. The migrations create the roles (without
/// LOGIN) and grant; a service's connections take on its role (`DATABASE_ROLE`), so a statement
/// runs with the role's privileges whatever user logged in. In production, give each service a
/// login user that is a member of its role only. The names come from the suite (`Suite.roles`:
/// `<suite>_command_service`, ...).
public struct ServiceRoles: Sendable, Hashable {
    public var commandService: String
    public var projectionService: String
    public var sagaOrchestrator: String

    public init(commandService: String, projectionService: String, sagaOrchestrator: String) {
        self.commandService = commandService
        self.projectionService = projectionService
        self.sagaOrchestrator = sagaOrchestrator
    }

    public var all: [String] { [commandService, projectionService, sagaOrchestrator] }

    /// The role of the service executable named `service` ("command-service", ...).
    public func role(forService service: String) -> String? {
        switch service {
        case "command-service": commandService
        case "projection-service": projectionService
        case "saga-orchestrator": sagaOrchestrator
        default: nil
        }
    }

    /// Creates the roles if they are missing (concurrent starts may race: a duplicate is fine).
    public var create: [String] {
        all.map { role in
            """
            DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(role)') THEN CREATE ROLE \(role) NOLOGIN; END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END $$
            """
        }
    }

    /// Read and write every table (and identity sequence) of `schema`.
    public static func readWrite(_ schema: String, to role: String) -> [String] {
        [
            "GRANT USAGE ON SCHEMA \(schema) TO \(role)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \(schema) TO \(role)",
            // UPDATE: the event store moves its position sequence past a reserved range (setval).
            "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA \(schema) TO \(role)",
        ]
    }

    public static func readOnly(_ schema: String, to role: String) -> [String] {
        ["GRANT USAGE ON SCHEMA \(schema) TO \(role)", "GRANT SELECT ON ALL TABLES IN SCHEMA \(schema) TO \(role)"]
    }

    /// Ownership of the schema's tables and the right to create more (a projection rebuild
    /// creates shadow tables and swaps them by renaming, which only an owner may do).
    public static func own(_ schema: String, to role: String) -> [String] {
        [
            "GRANT USAGE, CREATE ON SCHEMA \(schema) TO \(role)",
            """
            DO $$ DECLARE t record; BEGIN
                FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = '\(schema)' AND tableowner <> '\(role)' LOOP
                    EXECUTE format('ALTER TABLE \(schema).%I OWNER TO \(role)', t.tablename);
                END LOOP;
            END $$
            """,
        ]
    }
}

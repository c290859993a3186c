/// Each service's own PostgreSQL role, with only the privileges it needs:
///
/// | role | may |
/// | --- | --- |
/// | `checkout_command_service` | read and write `event_store` |
/// | `checkout_projection_service` | own `read_models` (rebuilds create, rename and drop tables); read `event_store` |
/// | `checkout_saga_orchestrator` | read and write `sagas`; read `event_store.events` (to fill a gap in a stream) |
///
/// and every one may add to the admin audit log. The migrations create the roles (without
/// LOGIN) and grant; a service's connections take on its role (`DATABASE_ROLE`), so a statement
/// runs with the role's privileges whatever user logged in. In production, give each service a
/// login user that is a member of its role only.
public enum ServiceRoles {
    public static let command = "checkout_command_service"
    public static let projection = "checkout_projection_service"
    public static let saga = "checkout_saga_orchestrator"
    public static let all = [command, projection, saga]

    /// The role a service takes on by default: `checkout_<service>`.
    public static func defaultRole(forService service: String) -> String {
        "checkout_" + service.replacingOccurrences(of: "-", with: "_")
    }

    /// Creates the roles if they are missing (concurrent starts may race: a duplicate is fine).
    public static let create: [String] = all.map { role in
        """
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(role)') THEN CREATE ROLE \(role) NOLOGIN; END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$
        """
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

public import ServiceSupport

/// The runtime's own tables in `read_models`: checkpoints, per-stream positions, dead letters.
/// Each projection adds its read-model tables through its own migrations.
public enum ProjectionSchema {
    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "checkpoints, stream positions, dead letters",
            statements: [
                // The next offset to read per processor and partition, written in the same
                // transaction as the read models; `owner` is the instance that wrote it last.
                """
                CREATE TABLE read_models.checkpoints (
                    processor text NOT NULL, topic text NOT NULL, partition integer NOT NULL,
                    next_offset bigint NOT NULL, owner text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (processor, topic, partition))
                """,
                // The last stream version applied per projection: a redelivered event (relay
                // retry, republish) is recognised and skipped.
                """
                CREATE TABLE read_models.stream_positions (
                    projection text NOT NULL, stream_id text NOT NULL, version bigint NOT NULL,
                    PRIMARY KEY (projection, stream_id))
                """,
                """
                CREATE TABLE read_models.dead_letters (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    processor text NOT NULL, projection text NOT NULL,
                    topic text NOT NULL, partition integer NOT NULL, kafka_offset bigint NOT NULL,
                    stream_id text NOT NULL, stream_version bigint NOT NULL, event_id uuid NOT NULL, event_type text NOT NULL,
                    event jsonb NOT NULL,
                    error text NOT NULL, fingerprint text NOT NULL, attempts integer NOT NULL,
                    blocked_by bigint REFERENCES read_models.dead_letters(id),
                    status text NOT NULL DEFAULT 'parked' CHECK (status IN ('parked', 'replayed', 'skipped')),
                    first_failed_at timestamptz NOT NULL DEFAULT now(), last_failed_at timestamptz NOT NULL DEFAULT now(),
                    resolved_at timestamptz, resolved_by text, resolution text,
                    UNIQUE (projection, event_id))
                """,
                "CREATE INDEX dead_letters_parked ON read_models.dead_letters (projection, stream_id, stream_version) WHERE status = 'parked'",
                """
                CREATE TABLE read_models.rebuilds (
                    projection text PRIMARY KEY, status text NOT NULL, position bigint NOT NULL DEFAULT 0,
                    target_position bigint NOT NULL DEFAULT 0, events_applied bigint NOT NULL DEFAULT 0,
                    started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz, error text)
                """,
            ]),
        Migration(
            version: 2, name: "rebuild claims",
            statements: [
                // A rebuild claims its projection's row (owner, heartbeat): one rebuild per
                // projection at a time, across instances; an owner that stops beating expires.
                "ALTER TABLE read_models.rebuilds ADD COLUMN owner text, ADD COLUMN heartbeat_at timestamptz"
            ]),
    ]

    /// The runtime's tables alone (read models: `migrate(readModels:roles:on:logger:)`).
    public static func migrator(roles: ServiceRoles) -> Migrator {
        Migrator(
            schema: "read_models", migrations: migrations,
            privileges: roles.create + ServiceRoles.own("read_models", to: roles.projectionService))
    }
}

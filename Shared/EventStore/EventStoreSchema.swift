public import ServiceSupport

/// The `event_store` schema. Events are append-only: nothing here updates or deletes them.
public enum EventStoreSchema {
    /// The command service writes the event store; the projection service reads it (rebuilds).
    public static func migrator(roles: ServiceRoles) -> Migrator {
        Migrator(
            schema: "event_store", migrations: migrations,
            privileges: roles.create + ServiceRoles.readWrite("event_store", to: roles.commandService)
                + [
                    "GRANT EXECUTE ON FUNCTION event_store.reserve_positions(integer) TO \(roles.commandService)",
                    "GRANT EXECUTE ON FUNCTION \(AppendBatchFunction.signature) TO \(roles.commandService)",
                    // Events are written once: the command role may add and read them, nothing else.
                    "REVOKE UPDATE, DELETE, TRUNCATE ON event_store.events FROM \(roles.commandService)",
                    // The orchestrator reads a stream's missing events to fill a gap (SagaStore.handle).
                    "GRANT USAGE ON SCHEMA event_store TO \(roles.sagaOrchestrator)",
                    "GRANT SELECT ON event_store.events TO \(roles.sagaOrchestrator)",
                ]
                + ServiceRoles.readOnly("event_store", to: roles.projectionService))
    }

    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "streams, events, outbox, snapshots, command log",
            statements: [
                // One row per stream: its version. Appends to one stream serialise on this row
                // only; appends to different streams never share a hot row.
                """
                CREATE TABLE event_store.streams (
                    stream_id text PRIMARY KEY,
                    stream_type text NOT NULL,
                    version bigint NOT NULL CHECK (version >= 0),
                    updated_at timestamptz NOT NULL DEFAULT now())
                """,
                // transaction_id lets readers of the global log wait for transactions that took
                // a position but have not committed yet (no skipped gaps).
                """
                CREATE TABLE event_store.events (
                    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    event_id uuid NOT NULL UNIQUE,
                    stream_id text NOT NULL,
                    stream_type text NOT NULL,
                    stream_version bigint NOT NULL CHECK (stream_version >= 1),
                    event_type text NOT NULL,
                    schema_version integer NOT NULL,
                    payload jsonb NOT NULL,
                    metadata jsonb NOT NULL DEFAULT '{}',
                    correlation_id text NOT NULL,
                    causation_id text,
                    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
                    UNIQUE (stream_id, stream_version))
                """,
                "CREATE INDEX events_stream_time ON event_store.events (stream_id, recorded_at)",
                "CREATE INDEX events_correlation ON event_store.events (correlation_id)",
                // Written in the append transaction; the relay publishes and marks rows, the
                // pruner deletes published ones.
                """
                CREATE TABLE event_store.outbox (
                    global_position bigint PRIMARY KEY,
                    stream_id text NOT NULL,
                    topic text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    published_at timestamptz)
                """,
                "CREATE INDEX outbox_pending ON event_store.outbox (global_position) WHERE published_at IS NULL",
                """
                CREATE TABLE event_store.snapshots (
                    stream_id text PRIMARY KEY,
                    stream_type text NOT NULL,
                    version bigint NOT NULL,
                    state_schema integer NOT NULL,
                    state jsonb NOT NULL,
                    taken_at timestamptz NOT NULL DEFAULT now())
                """,
                // Command idempotency: a repeated command id returns the first result.
                """
                CREATE TABLE event_store.command_log (
                    command_id text PRIMARY KEY,
                    stream_id text NOT NULL,
                    result jsonb,
                    recorded_at timestamptz NOT NULL DEFAULT now())
                """,
            ]),
        Migration(
            version: 2, name: "positions taken in transaction sequence; request hashes of command ids",
            statements: [
                // Readers of the global log take `transaction_id < pg_snapshot_xmin(...)` as "every
                // position below is final". That holds only if transaction ids and positions are
                // handed out in the same sequence, so both are taken together under a short lock, as
                // the transaction's first write (see PostgresEventStore.reservePositions).
                // Positions come only from this function: the column loses its identity default, so
                // an insert that did not reserve its positions fails instead of breaking the sequence.
                "CREATE SEQUENCE event_store.global_positions AS bigint",
                "SELECT setval('event_store.global_positions', coalesce((SELECT max(global_position) FROM event_store.events), 0) + 1, false)",
                "ALTER TABLE event_store.events ALTER COLUMN global_position DROP IDENTITY",
                // The lock is taken and let go inside the protected block: a cancel at any point
                // releases it (unlocking a lock not held only warns), so a pooled connection never
                // keeps it.
                """
                CREATE FUNCTION event_store.reserve_positions(n integer) RETURNS bigint
                LANGUAGE plpgsql AS $$
                DECLARE
                    first bigint;
                BEGIN
                    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
                        RAISE EXCEPTION 'event_store.reserve_positions must be the first write of its transaction';
                    END IF;
                    BEGIN
                        PERFORM pg_advisory_lock(\(PostgresEventStore.positionLockKey));
                        PERFORM pg_current_xact_id();
                        first := nextval('event_store.global_positions');
                        IF n > 1 THEN
                            PERFORM setval('event_store.global_positions', first + n - 1);
                        END IF;
                        PERFORM pg_advisory_unlock(\(PostgresEventStore.positionLockKey));
                    EXCEPTION WHEN OTHERS OR query_canceled THEN
                        PERFORM pg_advisory_unlock(\(PostgresEventStore.positionLockKey));
                        RAISE;
                    END;
                    RETURN first;
                END $$
                """,
                "REVOKE ALL ON FUNCTION event_store.reserve_positions(integer) FROM PUBLIC",
                // A command id (an HTTP Idempotency-Key) reused for a different request is refused.
                "ALTER TABLE event_store.command_log ADD COLUMN request_hash text",
            ]),
        Migration(
            version: 3, name: "events are append-only for everyone",
            statements: [
                // Privileges already keep every service role to INSERT and SELECT; the trigger
                // also stops the owner and superusers (a mistyped maintenance statement).
                """
                CREATE FUNCTION event_store.refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'event_store.events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
                END $$
                """,
                """
                CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON event_store.events
                FOR EACH ROW EXECUTE FUNCTION event_store.refuse_event_change()
                """,
                """
                CREATE TRIGGER events_never_truncated BEFORE TRUNCATE ON event_store.events
                FOR EACH STATEMENT EXECUTE FUNCTION event_store.refuse_event_change()
                """,
            ]),
        Migration(
            version: 4, name: "new outbox rows wake the relay",
            statements: OutboxWakeUp.statements(table: "event_store.outbox", channel: OutboxRelay.channel)),
        Migration(
            version: 5, name: "a batch of appends in one call; only the indexes a query uses",
            statements: [
                AppendBatchFunction.definition,
                "REVOKE ALL ON FUNCTION \(AppendBatchFunction.signature) FROM PUBLIC",
                // No query reads events by correlation id or by time alone (a point-in-time read
                // filters one stream, found by the (stream_id, stream_version) key): every index
                // costs each insert, so only the ones a query needs stay.
                "DROP INDEX event_store.events_stream_time",
                "DROP INDEX event_store.events_correlation",
            ] + OutboxWakeUp.statements(table: "event_store.outbox", channel: OutboxRelay.channel)),
        Migration(
            version: 6, name: "personal data keys",
            statements: [
                // One live key per subject; forgetting deletes it (PersonalDataVault). Readable
                // by the projection service (read models show personal data while it exists).
                """
                CREATE TABLE event_store.personal_data_keys (
                    key_id uuid PRIMARY KEY,
                    subject text NOT NULL UNIQUE,
                    key bytea NOT NULL CHECK (length(key) = 32),
                    created_at timestamptz NOT NULL DEFAULT now())
                """
            ]),
        Migration(
            version: 7, name: "the relay leads by a lease",
            statements: [
                // The relay's leadership (`LeaseLeadership`): a row only the command role may update.
                LeaseLeadership.createTable("event_store.relay_lease")
            ]),
        Migration(
            version: 8, name: "the position lock only the command role can take",
            statements: [
                // An advisory lock needs no privilege: any role (the read-only projection role)
                // could take the position lock and freeze every append. A table lock in
                // EXCLUSIVE mode needs UPDATE on the table, which only the command role has;
                // readers may take ACCESS SHARE, which does not conflict. Nothing is stored.
                "CREATE TABLE event_store.position_lock (unused boolean) WITH (autovacuum_enabled = false)",
                // The lock is taken in a block that is rolled back on purpose once the positions
                // are taken: rolling the block back releases the lock at once (not at commit),
                // and keeps what must stay: the transaction id belongs to the enclosing
                // transaction and sequences are not transactional. Any other error (a cancel, a
                // lock_timeout) rolls the block back too, so no path leaves the lock held.
                """
                CREATE OR REPLACE FUNCTION event_store.reserve_positions(n integer) RETURNS bigint
                LANGUAGE plpgsql AS $$
                DECLARE
                    first bigint;
                BEGIN
                    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
                        RAISE EXCEPTION 'event_store.reserve_positions must be the first write of its transaction';
                    END IF;
                    BEGIN
                        LOCK TABLE event_store.position_lock IN EXCLUSIVE MODE;
                        PERFORM pg_current_xact_id();
                        first := nextval('event_store.global_positions');
                        IF n > 1 THEN
                            PERFORM setval('event_store.global_positions', first + n - 1);
                        END IF;
                        RAISE SQLSTATE 'EPOSN';
                    EXCEPTION WHEN SQLSTATE 'EPOSN' THEN
                        NULL;
                    END;
                    RETURN first;
                END $$
                """,
            ]),
        Migration(
            version: 9, name: "no NOTIFY in the commits that append",
            statements: [
                // The relay in the appending process is woken in process (`OutboxDoorbell`);
                // others poll. A notifying commit held the cluster-wide notification lock
                // through its WAL flush, so appends could not share one.
                "DROP TRIGGER IF EXISTS outbox_wakes_relay ON event_store.outbox",
                "DROP FUNCTION IF EXISTS event_store.notify_outbox()",
            ]),
    ]
}

/// A statement trigger that notifies a relay's channel when rows are inserted into its outbox:
/// once per inserting statement that inserted any row, delivered at commit (and once per
/// transaction, since PostgreSQL folds equal notifications), so the relay publishes as soon as
/// a transaction commits instead of polling, at no extra round trip for the writer. The
/// inserted rows are looked at because a statement trigger also fires for an INSERT of no rows
/// (a batch write whose commands part is empty), which must not wake the relay for nothing.
/// Replaces what an earlier version created, so a later migration can apply it again.
package enum OutboxWakeUp {
    package static func statements(table: String, channel: String) -> [String] {
        let function = table.replacingOccurrences(of: ".outbox", with: ".notify_outbox")
        return [
            """
            CREATE OR REPLACE FUNCTION \(function)() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (SELECT FROM inserted_rows) THEN
                    PERFORM pg_notify('\(channel)', '');
                END IF;
                RETURN NULL;
            END $$
            """,
            "DROP TRIGGER IF EXISTS outbox_wakes_relay ON \(table)",
            """
            CREATE TRIGGER outbox_wakes_relay AFTER INSERT ON \(table)
            REFERENCING NEW TABLE AS inserted_rows
            FOR EACH STATEMENT EXECUTE FUNCTION \(function)()
            """,
        ]
    }
}

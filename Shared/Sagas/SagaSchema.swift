public import ServiceSupport
import EventStore

/// The saga runtime's tables in schema `sagas`, for any saga definition.
public enum SagaSchema {
    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "instances, handled messages, command outbox, history",
            statements: [
                // One row per saga instance; its row lock is what lets one worker at a time
                // advance it (events of one instance arrive on several partitions).
                """
                CREATE TABLE sagas.instances (
                    saga text NOT NULL, correlation_id text NOT NULL,
                    status text NOT NULL CHECK (status IN ('running', 'completed', 'compensated', 'failed')),
                    step text NOT NULL, state jsonb NOT NULL, version bigint NOT NULL DEFAULT 1,
                    deadline_at timestamptz, error text,
                    started_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (saga, correlation_id))
                """,
                "CREATE INDEX instances_due ON sagas.instances (deadline_at) WHERE status = 'running' AND deadline_at IS NOT NULL",
                "CREATE INDEX instances_by_status ON sagas.instances (saga, status, updated_at DESC)",
                // Every event handled, by id: a redelivered event changes nothing.
                """
                CREATE TABLE sagas.handled_messages (
                    saga text NOT NULL, message_id text NOT NULL, correlation_id text NOT NULL,
                    handled_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (saga, message_id))
                """,
                // Commands written with the state change that decided them; the relay publishes
                // them by position and marks them after the broker acknowledged them.
                """
                CREATE TABLE sagas.outbox (
                    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    saga text NOT NULL, correlation_id text NOT NULL,
                    command_id text NOT NULL, command_type text NOT NULL, topic text NOT NULL, key text NOT NULL,
                    payload jsonb NOT NULL, causation_id text,
                    created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz)
                """,
                "CREATE INDEX outbox_unpublished ON sagas.outbox (position) WHERE published_at IS NULL",
                // What happened to each instance, in sequence: events, commands, deadlines, steps.
                """
                CREATE TABLE sagas.history (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    saga text NOT NULL, correlation_id text NOT NULL, at timestamptz NOT NULL DEFAULT now(),
                    kind text NOT NULL CHECK (kind IN ('event', 'command', 'deadline', 'step', 'operator', 'error')),
                    detail text NOT NULL, step text NOT NULL, status text NOT NULL)
                """,
                "CREATE INDEX history_by_instance ON sagas.history (saga, correlation_id, id)",
            ]),
        Migration(
            version: 2, name: "stream arrival positions replace handled message ids",
            statements: [
                // The last version of each stream the saga received in sequence (every event of the
                // topics it reads, its own or not): an event ahead of a gap is held back, never
                // handled before the events its stream wrote earlier.
                """
                CREATE TABLE sagas.stream_positions (
                    saga text NOT NULL, stream_id text NOT NULL, version bigint NOT NULL,
                    PRIMARY KEY (saga, stream_id))
                """,
                // A redelivered event is one at or below its stream's arrival position.
                "DROP TABLE sagas.handled_messages",
                // When arrival positions began: an event recorded before, of a stream without a
                // position yet, is taken as the stream's first (it was gap-checked by nothing;
                // drain the event topics before upgrading), and such events are not read again
                // from the store to fill a gap.
                "CREATE TABLE sagas.arrival_epoch (started_at timestamptz NOT NULL)",
                "INSERT INTO sagas.arrival_epoch (started_at) VALUES (now())",
            ]),
        Migration(
            version: 3, name: "new command outbox rows wake the relay",
            statements: OutboxWakeUp.statements(table: "sagas.outbox", channel: SagaCommandRelay.channel)),
        Migration(
            version: 4, name: "the relay is woken only by statements that inserted commands",
            statements: OutboxWakeUp.statements(table: "sagas.outbox", channel: SagaCommandRelay.channel)),
        Migration(
            version: 5, name: "refused events kept with their instance; dead letters written to the outbox",
            statements: [
                // An event the definition refused (reason set) and every later event of the same
                // instance (reason NULL), as they arrived: the instance is failed, and the
                // operator's retry hands them to the definition again, in this sequence. `event` is
                // JSON text (`StoredEvent`), so any bytes an event carries fit.
                """
                CREATE TABLE sagas.parked_events (
                    saga text NOT NULL, correlation_id text NOT NULL, seq bigint GENERATED ALWAYS AS IDENTITY,
                    event text NOT NULL, reason text, parked_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (saga, correlation_id, seq))
                """,
                // A refused event's copy for the dead-letter topic, written in the transaction
                // that refused it and published by the command relay (payload: `StoredKafkaRecord`).
                "ALTER TABLE sagas.outbox ADD COLUMN kind text NOT NULL DEFAULT 'command' CHECK (kind IN ('command', 'dead-letter'))",
            ]),
        Migration(version: 6, name: "the command relay leads by a lease", statements: [LeaseLeadership.createTable("sagas.relay_lease")]),
        Migration(
            version: 7, name: "deadlines count from when the step's commands were consumed",
            statements: [
                // Where the relay's broker put each command (set with `published_at`): the
                // deadline scheduler compares it with the command group's committed offset.
                "ALTER TABLE sagas.outbox ADD COLUMN kafka_partition integer, ADD COLUMN kafka_offset bigint",
                // The step's wait and the outbox positions of the commands sent when it began:
                // the deadline counts from when the last of them was consumed.
                "ALTER TABLE sagas.instances ADD COLUMN deadline_wait_ms bigint, ADD COLUMN deadline_commands bigint[]",
            ]),
        Migration(
            version: 8, name: "no NOTIFY in the commits of saga steps",
            statements: [
                // The relay is woken in process (`OutboxDoorbell`): see event store migration 9.
                "DROP TRIGGER IF EXISTS outbox_wakes_relay ON sagas.outbox",
                "DROP FUNCTION IF EXISTS sagas.notify_outbox()",
            ]),
        Migration(
            version: 9, name: "commands carry the trace of the step that sent them",
            statements: [
                // The propagator's headers (`traceparent`, ...) as a JSON object, sent with the
                // command: the command service's work continues the saga step's trace.
                "ALTER TABLE sagas.outbox ADD COLUMN trace_headers jsonb"
            ]),
    ]

    public static func migrator(roles: ServiceRoles) -> Migrator {
        Migrator(schema: "sagas", migrations: migrations, privileges: roles.create + ServiceRoles.readWrite("sagas", to: roles.sagaOrchestrator)
                // The command service counts running sagas to bound saga starts (`RunningSagas`).
                + ServiceRoles.readOnly("sagas", to: roles.commandService))
    }
}

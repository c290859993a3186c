/// `event_store.append_batch`: a batch of appends (distinct streams, distinct command ids) in
/// one call, so that group commit costs one round trip and one implicit transaction:
///
/// 1. positions for every event, as the transaction's first write (`reserve_positions`);
/// 2. command ids claimed together with the result a repeat will get; a repeated id appends
///    nothing and returns the stored result and request hash (`duplicate`);
/// 3. every other stream moves only if it is at its writer's expected version; one that is not
///    returns its current version (`conflict`) and gives its command id back;
/// 4. the events and outbox rows of every append that moved its stream (`appended`, one row per
///    event with its position and time).
///
/// Appends are numbered from 1 in the sequence of the `p_stream` array; events name their append
/// by that number and come grouped by append, in stream sequence. Empty strings stand for "none"
/// (no command id, no request hash, no causation id) because arrays cannot mix in NULLs from
/// PostgresNIO's `[String]` encoding.
enum AppendBatchFunction {
    static let signature = """
        event_store.append_batch(text[], text[], text[], bigint[], bigint[], text[], text[], text[], \
        integer[], uuid[], text[], integer[], text[], text[], text[], text[])
        """

    static let definition = """
        CREATE FUNCTION event_store.append_batch(
            p_stream text[], p_stream_type text[], p_topic text[], p_expected bigint[], p_count bigint[],
            p_command text[], p_request_hash text[], p_result text[],
            p_event_append integer[], p_event_id uuid[], p_event_type text[], p_schema integer[],
            p_payload text[], p_metadata text[], p_correlation text[], p_causation text[])
        RETURNS TABLE (r_append integer, r_outcome text, r_version bigint, r_position bigint, r_recorded_at timestamptz,
                       r_stored_result text, r_stored_hash text)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_first bigint;
            v_claimed text[];
            v_moved text[];
        BEGIN
            v_first := event_store.reserve_positions(greatest(coalesce(array_length(p_event_id, 1), 0), 1));

            WITH claimed AS (
                INSERT INTO event_store.command_log (command_id, stream_id, request_hash, result)
                SELECT c.command_id, c.stream_id, nullif(c.request_hash, ''), nullif(c.result, '')::jsonb
                FROM unnest(p_command, p_stream, p_request_hash, p_result) AS c(command_id, stream_id, request_hash, result)
                WHERE c.command_id <> ''
                ON CONFLICT (command_id) DO NOTHING
                RETURNING command_id)
            SELECT coalesce(array_agg(claimed.command_id), '{}') INTO v_claimed FROM claimed;

            RETURN QUERY
                SELECT r.idx::integer, 'duplicate'::text, NULL::bigint, NULL::bigint, NULL::timestamptz,
                       coalesce(l.result::text, '{}'), l.request_hash
                FROM unnest(p_command) WITH ORDINALITY AS r(command_id, idx)
                JOIN event_store.command_log l ON l.command_id = r.command_id
                WHERE r.command_id <> '' AND NOT r.command_id = ANY(v_claimed);

            WITH request AS (
                SELECT r.stream_id, r.stream_type, r.expected, r.n
                FROM unnest(p_stream, p_stream_type, p_expected, p_count, p_command) AS r(stream_id, stream_type, expected, n, command_id)
                WHERE r.command_id = '' OR r.command_id = ANY(v_claimed)
            ), updated AS (
                UPDATE event_store.streams s SET version = s.version + r.n, updated_at = now()
                FROM request r WHERE r.expected > 0 AND s.stream_id = r.stream_id AND s.version = r.expected
                RETURNING s.stream_id
            ), created AS (
                INSERT INTO event_store.streams (stream_id, stream_type, version)
                SELECT r.stream_id, r.stream_type, r.n FROM request r WHERE r.expected = 0
                ON CONFLICT (stream_id) DO NOTHING
                RETURNING streams.stream_id
            )
            SELECT coalesce(array_agg(m.stream_id), '{}') INTO v_moved
            FROM (SELECT u.stream_id FROM updated u UNION ALL SELECT c.stream_id FROM created c) m;

            RETURN QUERY
                SELECT r.idx::integer, 'conflict'::text, coalesce(s.version, 0), NULL::bigint, NULL::timestamptz, NULL::text, NULL::text
                FROM unnest(p_stream, p_command) WITH ORDINALITY AS r(stream_id, command_id, idx)
                LEFT JOIN event_store.streams s ON s.stream_id = r.stream_id
                WHERE (r.command_id = '' OR r.command_id = ANY(v_claimed)) AND NOT r.stream_id = ANY(v_moved);
            DELETE FROM event_store.command_log l
            USING unnest(p_stream, p_command) AS r(stream_id, command_id)
            WHERE l.command_id = r.command_id AND r.command_id = ANY(v_claimed) AND NOT r.stream_id = ANY(v_moved);

            RETURN QUERY
                WITH input AS (
                    SELECT e.*, a.stream_id, a.stream_type, a.topic,
                           a.expected + row_number() OVER (PARTITION BY e.append_no ORDER BY e.ord) AS stream_version
                    FROM unnest(p_event_append, p_event_id, p_event_type, p_schema, p_payload, p_metadata, p_correlation, p_causation)
                         WITH ORDINALITY AS e(append_no, event_id, event_type, schema_version, payload, metadata, correlation_id,
                                              causation_id, ord)
                    JOIN unnest(p_stream, p_stream_type, p_topic, p_expected) WITH ORDINALITY AS a(stream_id, stream_type, topic, expected, idx)
                      ON a.idx = e.append_no
                    WHERE a.stream_id = ANY(v_moved)
                ), positioned AS (
                    SELECT input.*, v_first + row_number() OVER (ORDER BY input.ord) - 1 AS global_position FROM input
                ), inserted AS (
                    INSERT INTO event_store.events (global_position, event_id, stream_id, stream_type, stream_version, event_type,
                                                    schema_version, payload, metadata, correlation_id, causation_id)
                    SELECT p.global_position, p.event_id, p.stream_id, p.stream_type, p.stream_version, p.event_type,
                           p.schema_version, p.payload::jsonb, p.metadata::jsonb, p.correlation_id, nullif(p.causation_id, '')
                    FROM positioned p
                    RETURNING events.global_position, events.stream_version, events.recorded_at
                ), outboxed AS (
                    INSERT INTO event_store.outbox (global_position, stream_id, topic)
                    SELECT p.global_position, p.stream_id, p.topic FROM positioned p
                )
                SELECT p.append_no, 'appended'::text, i.stream_version, i.global_position, i.recorded_at, NULL::text, NULL::text
                FROM inserted i JOIN positioned p ON p.global_position = i.global_position;
        END $$
        """
}

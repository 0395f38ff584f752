"""On PostgreSQL, an audit append is one call of ``workflow_audit_append`` (one round trip).

The function locks the stream's head (creating it on a stream's first event), hashes the event
with PostgreSQL's own ``sha256()``, inserts it and moves the head — what ``record`` does in
Python on SQLite, in the caller's transaction all the same. It does not re-implement the
canonical encoding: ``record`` sends the event's JCS text in three parts
(``canonical.event_parts``) and the function fills in the two values only the locked head
knows, the head's hash and the next seq. ``verify_audit`` re-derives every hash in Python.
"""

from django.db import migrations

INSTALL = """
CREATE FUNCTION workflow_audit_append(
    p_stream text,
    p_occurred_at timestamptz,
    p_actor text,
    p_actor_role text,
    p_action text,
    p_object_ref text,
    p_data_json text,
    p_before_prev_hash text,
    p_before_seq text,
    p_after_seq text
) RETURNS TABLE (event_id bigint, event_seq bigint, event_prev_hash text, event_hash text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head_seq bigint;
BEGIN
    -- Appends to one stream queue on this row lock until the appender's transaction ends.
    SELECT h.seq, h.hash INTO head_seq, event_prev_hash
        FROM workflow_auditstreamhead h WHERE h.stream = p_stream FOR UPDATE;
    IF NOT FOUND THEN
        -- A stream's first event: whichever of two racing appends comes first creates the head
        -- (prev_hash of seq 1 is canonical.GENESIS_HASH, 64 zeros).
        INSERT INTO workflow_auditstreamhead (stream, seq, hash, updated_at, checkpointed_seq)
            VALUES (p_stream, 0, repeat('0', 64), p_occurred_at, 0)
            ON CONFLICT (stream) DO NOTHING;
        SELECT h.seq, h.hash INTO STRICT head_seq, event_prev_hash
            FROM workflow_auditstreamhead h WHERE h.stream = p_stream FOR UPDATE;
    END IF;
    event_seq := head_seq + 1;
    event_hash := encode(sha256(convert_to(
        p_before_prev_hash || event_prev_hash || p_before_seq || event_seq::text || p_after_seq, 'UTF8'
    )), 'hex');
    INSERT INTO workflow_auditevent (
        stream, seq, occurred_at, actor, actor_role, action, object_ref, data_json, prev_hash, hash
    ) VALUES (
        p_stream, event_seq, p_occurred_at, p_actor, p_actor_role, p_action, p_object_ref, p_data_json,
        event_prev_hash, event_hash
    ) RETURNING id INTO event_id;
    UPDATE workflow_auditstreamhead
        SET seq = event_seq, hash = event_hash, updated_at = p_occurred_at
        WHERE stream = p_stream;
    RETURN NEXT;
END;
$$;
"""

UNINSTALL = """
DROP FUNCTION IF EXISTS workflow_audit_append(text, timestamptz, text, text, text, text, text, text, text, text);
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [("workflow", "0006_portal_perf")]
    operations = [migrations.RunPython(install, uninstall)]

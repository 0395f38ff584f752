"""On PostgreSQL, ``workflow_audit_append`` moves the stream's head with one UPDATE.

Migration 0007's function read the head ``FOR UPDATE`` (a row lock, written to the WAL), then
inserted the event and updated the head: two operations on the head row and three statements
per append. Here the UPDATE comes first and is the lock: it computes the next seq and the event's
hash from the head it finds and keeps the hash it replaces in the head's new ``prev_hash``
column, which it returns as the event's link. Under READ COMMITTED a concurrent append to the
same stream waits for that row and then re-reads the head the first one committed (as the lock
did), so the chain stays one: contiguous seqs, each event linked to the one before.

A stream's first event creates its head at seq 1 directly; when a racing first append created it
meanwhile, the loop moves that head instead.

The function keeps its name, arguments and result: ``record`` calls it as before.
"""

import importlib

from django.db import migrations, models

INSTALL = """
CREATE OR REPLACE FUNCTION workflow_audit_append(
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
BEGIN
    LOOP
        -- Appends to one stream queue on this row until the appender's transaction ends.
        UPDATE workflow_auditstreamhead h
            SET seq = h.seq + 1,
                prev_hash = h.hash,
                hash = encode(sha256(convert_to(
                    p_before_prev_hash || h.hash || p_before_seq || (h.seq + 1)::text || p_after_seq, 'UTF8'
                )), 'hex'),
                updated_at = p_occurred_at
            WHERE h.stream = p_stream
            RETURNING h.seq, h.prev_hash, h.hash INTO event_seq, event_prev_hash, event_hash;
        EXIT WHEN FOUND;
        -- A stream's first event (prev_hash of seq 1 is canonical.GENESIS_HASH, 64 zeros).
        event_seq := 1;
        event_prev_hash := repeat('0', 64);
        event_hash := encode(sha256(convert_to(
            p_before_prev_hash || event_prev_hash || p_before_seq || '1' || p_after_seq, 'UTF8'
        )), 'hex');
        INSERT INTO workflow_auditstreamhead (stream, seq, hash, prev_hash, updated_at, checkpointed_seq)
            VALUES (p_stream, event_seq, event_hash, event_prev_hash, p_occurred_at, 0)
            ON CONFLICT (stream) DO NOTHING;
        EXIT WHEN FOUND;
    END LOOP;
    INSERT INTO workflow_auditevent (
        stream, seq, occurred_at, actor, actor_role, action, object_ref, data_json, prev_hash, hash
    ) VALUES (
        p_stream, event_seq, p_occurred_at, p_actor, p_actor_role, p_action, p_object_ref, p_data_json,
        event_prev_hash, event_hash
    ) RETURNING id INTO event_id;
    RETURN NEXT;
END;
$$;
"""


def _previous() -> str:
    """Migration 0007's function, put back when this migration is unapplied."""
    module = importlib.import_module("workflow.migrations.0007_audit_append_function")
    return module.INSTALL.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_previous(), params=None)


class Migration(migrations.Migration):
    dependencies = [("workflow", "0007_audit_append_function")]
    operations = [
        migrations.AddField(
            model_name="auditstreamhead",
            name="prev_hash",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
        migrations.RunPython(install, uninstall),
    ]

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from workflow import freshness
from workflow.models import AuditEvent, AuditStreamHead

from .canonical import GENESIS_HASH, canonical_data, event_hash, event_parts, format_time

logger = logging.getLogger(__name__)

SYSTEM_STREAM = "system"

# Raw SQL for the hot path (see record); table names come from the models, never from input.
_EVENTS = AuditEvent._meta.db_table
_HEADS = AuditStreamHead._meta.db_table
_READ_HEAD = f"SELECT seq, hash FROM {_HEADS} WHERE stream = %s"  # noqa: S608
_NEW_HEAD = (
    f"INSERT INTO {_HEADS} (stream, seq, hash, prev_hash, updated_at, checkpointed_seq) "  # noqa: S608
    "VALUES (%s, 0, %s, '', %s, 0) ON CONFLICT (stream) DO NOTHING"
)
_INSERT_EVENT = (
    f"INSERT INTO {_EVENTS} (stream, seq, occurred_at, actor, actor_role, action, object_ref, data_json, "  # noqa: S608
    "prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_MOVE_HEAD = f"UPDATE {_HEADS} SET seq = %s, hash = %s, prev_hash = %s, updated_at = %s WHERE stream = %s"  # noqa: S608
# Every column of an event, in the order from_db takes them (record returns the row it appended).
_FIELDS = [f.attname for f in AuditEvent._meta.concrete_fields]
# PostgreSQL: the whole append in one round trip (migration 0007; one statement on the head since 0008).
_APPEND_PG = "SELECT * FROM workflow_audit_append(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


@dataclass(frozen=True)
class Actor:
    """Who acted: ``user:<pk>``, ``customer:<ref>`` or ``system``, and in which role."""

    ref: str
    role: str = ""


SYSTEM = Actor("system", "system")


def actor_of(user: Any) -> Actor:
    if user is None:
        return SYSTEM
    if isinstance(user, Actor):
        return user
    if not getattr(user, "is_authenticated", False):
        return Actor("anonymous", "")
    return Actor(f"user:{user.pk}", getattr(user, "role", None) or "")


def stream_for(obj: models.Model) -> str:
    """One stream per request: ``disclosure_order:DO-…``; the reference never changes."""
    return f"{obj._meta.model_name}:{obj.reference}"  # type: ignore[attr-defined]


def object_ref(obj: models.Model | str | None) -> str:
    if obj is None:
        return ""
    if isinstance(obj, str):
        return obj
    ident = getattr(obj, "reference", None) or obj.pk
    return f"{obj._meta.model_name}:{ident}"


def record(
    action: str,
    *,
    actor: Any,
    stream: str | None = None,
    obj: models.Model | str | None = None,
    data: Mapping[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
) -> AuditEvent:
    """Append one event to ``stream`` (the object's own stream by default).

    Called inside the service's transaction: the stream head is locked, the event chained to
    it and inserted, the head moved — all committed, or rolled back, with the change itself.
    On PostgreSQL that is one call of the database function ``workflow_audit_append``; on SQLite
    the same steps are run from here. Called outside any transaction, the append is one of its own.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    if not conn.in_atomic_block:
        with transaction.atomic():
            return record(action, actor=actor, stream=stream, obj=obj, data=data, occurred_at=occurred_at)
    who = actor_of(actor)
    if stream is None:
        stream = SYSTEM_STREAM if obj is None or isinstance(obj, str) else stream_for(obj)
    data_json = canonical_data(data or {})
    moment = occurred_at or dt.datetime.now(dt.UTC)
    when = format_time(moment)
    ref = object_ref(obj)
    # The event's canonical fields (its seq and prev_hash come from the stream's head).
    fields = {
        "stream": stream,
        "occurred_at": when,
        "actor": who.ref,
        "actor_role": who.role,
        "action": action,
        "object_ref": ref,
        "data_json": data_json,
    }
    row: list[Any] = [stream, moment, who.ref, who.role, action, ref, data_json]
    try:
        with conn.cursor() as cursor:
            if conn.vendor == "postgresql":
                # One round trip: the database locks the head and fills the two chain fields into
                # the event's canonical text, encoded here (see canonical.event_layout).
                cursor.execute(_APPEND_PG, [*row, *event_parts(**fields)])
                pk, seq, head_hash, digest = cursor.fetchone()
            else:
                pk, seq, head_hash, digest = _append_portably(cursor, row, fields)
        # Pages cached under this stream's data (and the dashboard's, under everything) are stale
        # from the moment this transaction commits.
        freshness.renew_on_commit((stream, freshness.ALL))
    except BaseException:
        # No savepoint: a failed append fails the caller's whole transaction, not just itself
        # (what a nested atomic(savepoint=False) does), even when the caller catches the error.
        conn.needs_rollback = True
        raise
    # The row as the database holds it (from_db: not to be inserted again).
    return AuditEvent.from_db(
        conn.alias,
        _FIELDS,
        (pk, stream, seq, moment, who.ref, who.role, action, ref, data_json, head_hash, digest),
    )


def _append_portably(cursor: Any, row: list[Any], fields: dict[str, str]) -> tuple[int, int, str, str]:
    """The append as the database function does it, step by step (SQLite), for the event's
    ``row`` (stream, moment, actor, role, action, object, data) and canonical ``fields``: SQLite
    has no FOR UPDATE, but its IMMEDIATE transactions already serialise writers."""
    stream, moment = row[0], row[1]
    cursor.execute(_READ_HEAD, [stream])
    head = cursor.fetchone()
    if head is None:  # a new stream's head, created by whichever append comes first
        cursor.execute(_NEW_HEAD, [stream, GENESIS_HASH, moment])
        cursor.execute(_READ_HEAD, [stream])
        head = cursor.fetchone()
    seq, head_hash = head[0] + 1, head[1]
    digest = event_hash(**fields, seq=seq, prev_hash=head_hash)
    cursor.execute(_INSERT_EVENT, [stream, seq, *row[1:], head_hash, digest])
    pk = cursor.lastrowid
    cursor.execute(_MOVE_HEAD, [seq, digest, head_hash, moment, stream])
    return pk, seq, head_hash, digest


def record_refusal(
    action: str, *, actor: Any, obj: models.Model | None, reason: str, code: str, attempted: str = ""
) -> None:
    """Audit a refused action in a transaction of its own (the action's own was rolled back).

    Never raises: failing to audit a refusal must not turn a clear refusal into a 500, but it
    is logged (without personal data) so that operators see it.
    """
    try:
        with transaction.atomic():
            record(
                action, actor=actor, obj=obj, data={"code": code, "attempted": attempted, "reason": reason}
            )
    except Exception:
        logger.exception("could not audit a refused action (%s, code %s)", action, code)

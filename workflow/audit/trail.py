import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from workflow import freshness
from workflow.models import AuditEvent, AuditStreamHead

from .canonical import GENESIS_HASH, canonical_data, event_hash, format_time

logger = logging.getLogger(__name__)

SYSTEM_STREAM = "system"

# Raw SQL for the hot path (see record); table names come from the models, never from input.
_EVENTS = AuditEvent._meta.db_table
_HEADS = AuditStreamHead._meta.db_table
_READ_HEAD = f"SELECT seq, hash FROM {_HEADS} WHERE stream = %s"  # noqa: S608
_NEW_HEAD = (
    f"INSERT INTO {_HEADS} (stream, seq, hash, updated_at, checkpointed_seq) VALUES (%s, 0, %s, %s, 0) "  # noqa: S608
    "ON CONFLICT (stream) DO NOTHING"
)
_INSERT_EVENT = (
    f"INSERT INTO {_EVENTS} (stream, seq, occurred_at, actor, actor_role, action, object_ref, data_json, "  # noqa: S608
    "prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_MOVE_HEAD = f"UPDATE {_HEADS} SET seq = %s, hash = %s, updated_at = %s WHERE stream = %s"  # noqa: S608
_APPEND_PG = f"WITH moved AS ({_MOVE_HEAD}) {_INSERT_EVENT} RETURNING id"


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
    """
    who = actor_of(actor)
    if stream is None:
        stream = SYSTEM_STREAM if obj is None or isinstance(obj, str) else stream_for(obj)
    data_json = canonical_data(data or {})
    moment = occurred_at or timezone.now()
    # No savepoint: a failed append must fail the caller's whole transaction, not be skipped.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # Lock and read the stream's head (appends to one stream queue here); a new stream's
        # head is created first, by whichever of two racing appends comes first.
        # (SQLite has no FOR UPDATE: its IMMEDIATE transactions already serialise writers.)
        lock_head = _READ_HEAD + (" FOR UPDATE" if connection.vendor == "postgresql" else "")
        cursor.execute(lock_head, [stream])
        head = cursor.fetchone()
        if head is None:
            cursor.execute(_NEW_HEAD, [stream, GENESIS_HASH, moment])
            cursor.execute(lock_head, [stream])
            head = cursor.fetchone()
        head_seq, head_hash = head
        fields = {
            "stream": stream,
            "seq": head_seq + 1,
            "occurred_at": format_time(moment),
            "actor": who.ref,
            "actor_role": who.role,
            "action": action,
            "object_ref": object_ref(obj),
            "data_json": data_json,
            "prev_hash": head_hash,
        }
        digest = event_hash(**fields)
        row = [stream, fields["seq"], moment, who.ref, who.role, action, fields["object_ref"], data_json]
        row += [head_hash, digest]
        if connection.vendor == "postgresql":
            # The event and the moved head in one statement: appends cost four round trips.
            cursor.execute(_APPEND_PG, [fields["seq"], digest, moment, stream, *row])
            (pk,) = cursor.fetchone()
        else:
            cursor.execute(_INSERT_EVENT, row)
            pk = cursor.lastrowid
            cursor.execute(_MOVE_HEAD, [fields["seq"], digest, moment, stream])
    event = AuditEvent(
        pk=pk,
        stream=stream,
        seq=fields["seq"],
        occurred_at=moment,
        actor=who.ref,
        actor_role=who.role,
        action=action,
        object_ref=fields["object_ref"],
        data_json=data_json,
        prev_hash=head_hash,
        hash=digest,
    )
    event._state.adding = False
    # Pages cached under this stream's data (and the dashboard's, under everything) are stale
    # from the moment this transaction commits.
    freshness.renew_on_commit((stream, freshness.ALL))
    return event


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

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from workflow.models import AuditEvent, AuditStreamHead

from .canonical import GENESIS_HASH, canonical_data, event_hash, format_time

logger = logging.getLogger(__name__)

SYSTEM_STREAM = "system"


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
        if obj is None or isinstance(obj, str):
            stream = SYSTEM_STREAM
        else:
            stream = stream_for(obj)
    data_json = canonical_data(data or {})
    moment = occurred_at or timezone.now()
    with transaction.atomic():
        AuditStreamHead.objects.bulk_create(
            [AuditStreamHead(stream=stream, seq=0, hash=GENESIS_HASH)], ignore_conflicts=True
        )
        head = AuditStreamHead.objects.select_for_update().get(stream=stream)
        fields = {
            "stream": stream,
            "seq": head.seq + 1,
            "occurred_at": format_time(moment),
            "actor": who.ref,
            "actor_role": who.role,
            "action": action,
            "object_ref": object_ref(obj),
            "data_json": data_json,
            "prev_hash": head.hash,
        }
        digest = event_hash(**fields)
        event = AuditEvent.objects.create(
            stream=stream,
            seq=fields["seq"],
            occurred_at=moment,
            actor=who.ref,
            actor_role=who.role,
            action=action,
            object_ref=fields["object_ref"],
            data_json=data_json,
            prev_hash=head.hash,
            hash=digest,
        )
        AuditStreamHead.objects.filter(stream=stream).update(seq=event.seq, hash=digest, updated_at=moment)
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

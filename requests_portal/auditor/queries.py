"""The auditors' read-only questions of the audit trail (references and hashes only)."""

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from requests_portal.models import User
from workflow.models import AuditEvent, Authority, DisclosureOrder, PreservationOrder

ORDER_KINDS = ("disclosureorder", "preservationorder")
PERSONAL_DATA_ACCESS = re.compile(r"\.(viewed|downloaded)$")
FAILED_LOGIN = "auth.login_failed"


@dataclass(frozen=True)
class TrailFilter:
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    actor: str = ""
    action: str = ""
    order: str = ""
    authority: Authority | None = None


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def order_streams(reference: str) -> list[str]:
    return [f"{kind}:{reference}" for kind in ORDER_KINDS]


def actor_refs(text: str) -> list[str]:
    """``user:12``, ``system``, ``customer:…`` as written, or a staff username."""
    if ":" in text or text in ("system", "anonymous"):
        return [text]
    return [f"user:{pk}" for pk in User.objects.filter(username__iexact=text).values_list("pk", flat=True)]


def events(where: TrailFilter) -> QuerySet[AuditEvent]:
    query = AuditEvent.objects.all()
    if where.first_day:
        query = query.filter(occurred_at__gte=_day_start(where.first_day))
    if where.last_day:
        query = query.filter(occurred_at__lt=_day_start(where.last_day + dt.timedelta(days=1)))
    if where.actor:
        query = query.filter(actor__in=actor_refs(where.actor))
    if where.action:
        query = query.filter(action__startswith=where.action)
    if where.order:
        streams = order_streams(where.order)
        query = query.filter(Q(stream__in=streams) | Q(object_ref__in=streams))
    if where.authority is not None:
        references = [
            *DisclosureOrder.objects.filter(authority=where.authority).values_list("reference", flat=True),
            *PreservationOrder.objects.filter(authority=where.authority).values_list("reference", flat=True),
        ]
        streams = [s for ref in references for s in order_streams(ref)]
        query = query.filter(stream__in=streams)
    return query.order_by("-occurred_at", "-id")


def personal_data_access(where: TrailFilter) -> QuerySet[AuditEvent]:
    return events(where).filter(Q(action__endswith=".viewed") | Q(action__endswith=".downloaded"))


def refusals(where: TrailFilter) -> QuerySet[AuditEvent]:
    return events(where).filter(Q(action__endswith=".refused") | Q(action=FAILED_LOGIN))


def timeline(reference: str) -> QuerySet[AuditEvent]:
    streams = order_streams(reference)
    return AuditEvent.objects.filter(Q(stream__in=streams) | Q(object_ref__in=streams)).order_by(
        "occurred_at", "id"
    )


def with_actor_names(rows: list[AuditEvent]) -> list[AuditEvent]:
    """Staff usernames for ``user:<pk>`` actors (staff are not customers; customers stay references)."""
    pks = {int(e.actor[5:]) for e in rows if e.actor.startswith("user:") and e.actor[5:].isdigit()}
    names = {f"user:{pk}": name for pk, name in User.objects.filter(pk__in=pks).values_list("pk", "username")}
    for event in rows:
        event.actor_name = names.get(event.actor, "")  # type: ignore[attr-defined]
    return rows

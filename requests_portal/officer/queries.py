"""Named reads of the officers' desk: the queue, my tasks, search, and the charts' figures.

Everything starts from ``orders_visible_to(user)``, the one visibility gate.
"""

import datetime as dt
from collections import defaultdict
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import Lead, TruncMonth
from django.utils import timezone

from requests_portal.roles import Role
from workflow.choices import IdentifierKind
from workflow.errors import InvalidInput
from workflow.identity import normalise_identifier, normalise_text
from workflow.models import AuditEvent, DisclosureOrder, DisclosureState, OrderIdentifier
from workflow.models.disclosure import OPEN_STATES
from workflow.permissions import orders_visible_to

S = DisclosureState
DUE_SOON_DAYS = 3

# What waits for whom. Clarification requested waits for the authority, exporting for the system.
OFFICER_STATES = [S.RECEIVED, S.VERIFYING, S.SCOPING, S.EXPORT_FAILED, S.RELEASED, S.DELIVERED]
APPROVER_STATES = [S.AWAITING_APPROVAL, S.PACKAGE_READY, S.EXPORT_FAILED]


def queue(user: Any, *, state: str = "") -> QuerySet[DisclosureOrder]:
    """The queue: open orders (or one state), emergencies first, then the nearest due date."""
    orders = orders_visible_to(user)
    orders = orders.filter(state=state) if state in S.values else orders.filter(state__in=OPEN_STATES)
    return orders.order_by("-emergency", "due_on", "id")


def my_tasks(user: Any) -> QuerySet[DisclosureOrder]:
    """What waits for this user: for an officer, the orders they took up (and new ones nobody
    has); for an approver, decisions on orders they neither verified nor scoped (four eyes)."""
    orders = orders_visible_to(user)
    if user.role == Role.APPROVER:
        return (
            orders.filter(state__in=APPROVER_STATES)
            .exclude(verified_by=user)
            .exclude(scoped_by=user)
            .order_by("-emergency", "due_on", "id")
        )
    if user.role == Role.LEGAL_OFFICER:
        mine = Q(created_by=user) | Q(verified_by=user) | Q(scoped_by=user)
        return orders.filter((Q(state__in=OFFICER_STATES) & mine) | Q(state=S.RECEIVED)).order_by(
            "-emergency", "due_on", "id"
        )
    return orders.none()


def counts_by_state(user: Any) -> dict[str, int]:
    rows = orders_visible_to(user).filter(state__in=OPEN_STATES).values("state").annotate(n=Count("id"))
    return {row["state"]: row["n"] for row in rows}


def urgency(order: DisclosureOrder, today: dt.date | None = None) -> str:
    """ "overdue", "soon" (within three days) or "" for an open order's due date."""
    if order.state not in OPEN_STATES:
        return ""
    today = today or timezone.localdate()
    if order.due_on < today:
        return "overdue"
    if (order.due_on - today).days <= DUE_SOON_DAYS:
        return "soon"
    return ""


def search(user: Any, text: str) -> QuerySet[DisclosureOrder]:
    """By portal reference, the authority's reference or name, or an identifier of a customer
    (normalised as the intake normalised it, so 09121234567 finds +989121234567)."""
    orders = orders_visible_to(user)
    try:
        plain = normalise_text(text)
    except InvalidInput:
        return orders.none()
    if not plain:
        return orders.none()
    match = (
        Q(reference__iexact=plain)
        | Q(authority_reference__icontains=plain)
        | Q(authority__name_fa__icontains=plain)
        | Q(authority__name_en__icontains=plain)
    )
    forms = set()
    for kind in IdentifierKind.values:
        try:
            forms.add((kind, normalise_identifier(kind, plain)))
        except InvalidInput:
            continue
    if forms:
        by_identifier = Q()
        for kind, value in forms:
            by_identifier |= Q(kind=kind, normalized=value)
        match |= Q(pk__in=OrderIdentifier.objects.filter(by_identifier).values("order_id"))
    return orders.filter(match).order_by("-received_on", "id")


# --- Charts ---------------------------------------------------------------------------------

CHART_CACHE_SECONDS = 600
# The state each audited transition leads to: time in a state runs from entering it to leaving it.
ENTERS = {
    "order.received": S.RECEIVED,
    "order.verification_started": S.VERIFYING,
    "order.clarification_requested": S.CLARIFICATION_REQUESTED,
    "order.clarification_received": S.VERIFYING,
    "order.rejected": S.REJECTED,
    "order.verified": S.SCOPING,
    "order.verified_emergency": S.SCOPING,
    "order.scope_submitted": S.AWAITING_APPROVAL,
    "order.scope_returned": S.SCOPING,
    "order.scope_approved": S.EXPORTING,
    "order.export_failed": S.EXPORT_FAILED,
    "order.export_retried": S.EXPORTING,
    "order.package_ready": S.PACKAGE_READY,
    "order.package_returned": S.SCOPING,
    "order.released": S.RELEASED,
    "order.delivered": S.DELIVERED,
    "order.closed": S.CLOSED,
    "order.withdrawn": S.WITHDRAWN,
}


def volume_per_month(user: Any, months: int = 12) -> list[tuple[dt.date, int]]:
    """Orders received per month over the last ``months`` months (empty months included)."""
    today = timezone.localdate()
    first = (today.replace(day=1) - dt.timedelta(days=31 * (months - 1))).replace(day=1)
    key = f"portal:volume:{first.isoformat()}:{user.role}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    rows = (
        orders_visible_to(user)
        .filter(received_on__gte=first)
        .annotate(month=TruncMonth("received_on"))
        .values("month")
        .annotate(n=Count("id"))
    )
    counts = {row["month"]: row["n"] for row in rows}
    series = []
    month = first
    while month <= today:
        series.append((month, counts.get(month, 0)))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    cache.set(key, series, CHART_CACHE_SECONDS)
    return series


def time_per_state(user: Any, days: int = 180) -> list[tuple[str, float]]:
    """Mean days an order spent in each state, from the audit trail of the last ``days`` days.

    Each transition event opens the state it leads to; the next transition event of the same
    order's stream closes it. Cached: it reads many audit rows and changes slowly.
    """
    key = f"portal:time-per-state:{days}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    since = timezone.now() - dt.timedelta(days=days)
    events = (
        AuditEvent.objects.filter(
            stream__startswith="disclosureorder:", action__in=list(ENTERS), occurred_at__gte=since
        )
        .annotate(left_at=Window(Lead("occurred_at"), partition_by=[F("stream")], order_by=[F("seq").asc()]))
        .values_list("action", "occurred_at", "left_at")
    )
    total: dict[str, float] = defaultdict(float)
    stays: dict[str, int] = defaultdict(int)
    for action, entered, left in events.iterator(chunk_size=5000):
        if left is None:
            continue
        state = ENTERS[action]
        total[state] += (left - entered).total_seconds() / 86400
        stays[state] += 1
    series = [(state, total[state] / stays[state]) for state in S.values if stays.get(state)]
    cache.set(key, series, CHART_CACHE_SECONDS)
    return series

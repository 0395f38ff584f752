"""The dashboard's slow figures, computed off the request path.

Time spent per state reads every transition of the last months from the audit trail (over a
million rows at 100,000 orders): a page view must never do that. ``refresh_state_dwell`` runs
from Celery beat (every ``PORTAL_CHART_REFRESH_MINUTES``) and replaces the small ``StateDwell``
summary; the dashboard reads the summary, and computes it itself only when none exists yet
(a fresh installation before beat's first run).
"""

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import F, Window
from django.db.models.functions import Lead
from django.utils import timezone

from workflow import freshness
from workflow.models import AuditEvent, DisclosureState, StateDwell

S = DisclosureState
DWELL_WINDOW_DAYS = 180
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


def compute_state_dwell(days: int = DWELL_WINDOW_DAYS) -> list[tuple[str, float, int]]:
    """(state, mean days, stays) from the audit trail of the last ``days`` days.

    Each transition event opens the state it leads to; the next transition event of the same
    order's stream closes it. A state not yet left is not counted.
    """
    since = timezone.now() - dt.timedelta(days=days)
    events = (
        AuditEvent.objects.filter(
            stream__startswith="disclosureorder:", action__in=list(ENTERS), occurred_at__gte=since
        )
        .annotate(left_at=Window(Lead("occurred_at"), partition_by=[F("stream")], order_by=[F("seq").asc()]))
        .values_list("action", "occurred_at", "left_at")
        .order_by()
    )
    total: dict[str, float] = defaultdict(float)
    stays: dict[str, int] = defaultdict(int)
    for action, entered, left in events.iterator(chunk_size=5000):
        if left is None:
            continue
        state = ENTERS[action]
        total[state] += (left - entered).total_seconds() / 86400
        stays[state] += 1
    return [(state, total[state] / stays[state], stays[state]) for state in S.values if stays.get(state)]


def refresh_state_dwell(days: int = DWELL_WINDOW_DAYS) -> list[StateDwell]:
    """Recompute the summary of one window and replace it in one transaction (readers see the
    old figures or the new ones, never a half-written set)."""
    now = timezone.now()
    rows = [
        StateDwell(window_days=days, state=state, mean_days=mean, stays=n, computed_at=now)
        for state, mean, n in compute_state_dwell(days)
    ]
    if not rows:
        # An empty trail still records that it was computed, so that readers do not recompute it.
        rows = [StateDwell(window_days=days, state="", mean_days=0.0, stays=0, computed_at=now)]
    with transaction.atomic():
        StateDwell.objects.filter(window_days=days).delete()
        StateDwell.objects.bulk_create(rows)
        # The dashboard shows the summary and when it was computed.
        freshness.renew_on_commit([freshness.ALL])
    return rows


def state_dwell(days: int = DWELL_WINDOW_DAYS) -> tuple[list[tuple[str, float]], dt.datetime | None]:
    """The summary as the chart draws it, in the lifecycle's order, and when it was computed."""
    rows = list(StateDwell.objects.filter(window_days=days))
    if not rows:
        rows = refresh_state_dwell(days)
    order = {state: i for i, state in enumerate(S.values)}
    figures = sorted((r for r in rows if r.stays), key=lambda r: order.get(r.state, len(order)))
    return [(r.state, r.mean_days) for r in figures], rows[0].computed_at

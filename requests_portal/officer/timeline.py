"""The order's audit timeline as people read it: who did what, when, in their language."""

from dataclasses import dataclass
from typing import Any

from django.db.models import BigIntegerField
from django.db.models.functions import Cast, Substr
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from requests_portal.models import User
from requests_portal.officer.compiled import Compiled, together
from requests_portal.officer.markup import escaped_html
from requests_portal.templatetags.portal import localdatetime_html
from workflow.audit.trail import stream_for
from workflow.models import AuditEvent

LABELS: dict[str, str | Promise] = {
    "order.received": _("Order registered"),
    "order.verification_started": _("Verification started"),
    "order.check_recorded": _("Checklist item recorded"),
    "order.clarification_requested": _("Clarification requested"),
    "order.clarification_received": _("Clarification received"),
    "order.rejected": _("Order rejected"),
    "order.verified": _("Order verified"),
    "order.verified_emergency": _("Emergency verification"),
    "order.formal_order_received": _("Formal order received"),
    "order.scope_set": _("Scope edited"),
    "order.scope_submitted": _("Scope submitted for approval"),
    "order.scope_returned": _("Scope returned"),
    "order.scope_approved": _("Scope approved"),
    "order.export_failed": _("Export failed"),
    "order.export_retried": _("Export retried"),
    "order.package_ready": _("Package ready"),
    "order.package_returned": _("Package returned"),
    "order.released": _("Package released"),
    "order.delivered": _("Delivery recorded"),
    "order.closed": _("Order closed"),
    "order.withdrawn": _("Order withdrawn"),
    "order.notice_lifted": _("Non-disclosure lifted"),
    "order.identifiers_matched": _("Identifiers matched against the store"),
    "package.downloaded": _("Package downloaded"),
    "preservation.received": _("Preservation order registered"),
    "preservation.verification_started": _("Verification started"),
    "preservation.verified": _("Order verified"),
    "preservation.hold_placed": _("Legal hold placed"),
    "preservation.rejected": _("Order rejected"),
    "preservation.renewed": _("Hold renewed"),
    "preservation.released": _("Hold released"),
    "preservation.expired": _("Hold expired"),
    "preservation.converted": _("Converted to a disclosure order"),
}


@dataclass(frozen=True)
class Entry:
    event: AuditEvent
    label: str
    actor: str
    refused: bool
    reason: str


def label_of(action: str) -> str:
    refused = action.endswith(".refused")
    base = action.removesuffix(".refused")
    text = str(LABELS.get(base, base))
    return str(_("Refused: %(action)s") % {"action": text}) if refused else text


def items_html(entries: list[Entry]) -> SafeString:
    """The timeline's items as the order page lists them. An order's stream only grows (every
    checklist item, download and refusal is an event): written out here rather than through a
    template loop, so that a long history stays cheap to show."""
    persian = (get_language() or "").startswith("fa")
    zone = timezone.get_current_timezone()
    return escaped_html(
        "".join(
            f'<li class="{"refused" if entry.refused else ""}">\n'
            f'        <div class="fw-semibold">{conditional_escape(entry.label)}</div>\n'
            f'        <div class="small text-body-secondary">'
            f"{localdatetime_html(entry.event.occurred_at, persian=persian, zone=zone)}"
            f" · {conditional_escape(entry.actor)}</div>\n"
            + (
                f'        <div class="small text-danger">{conditional_escape(entry.reason)}</div>\n'
                if entry.reason
                else "        \n"
            )
            + "      </li>"
            for entry in entries
        )
    )


# Only what the timeline shows: the stream's hashes and the rest of the users stay unread. Both
# reads are compiled once per process (``officer.compiled``) and asked together: the actors are
# the users the stream names (``user:<pk>``), found by the same stream.
_EVENTS = Compiled(
    lambda stream: (
        AuditEvent.objects.filter(stream=stream)
        .only("seq", "occurred_at", "actor", "action", "data_json")
        .order_by("seq")
    ),
    str,
)
_ACTORS = Compiled(
    lambda stream: User.objects.filter(
        pk__in=AuditEvent.objects.filter(stream=stream, actor__startswith="user:")
        .annotate(user_pk=Cast(Substr("actor", 6), BigIntegerField()))
        .values("user_pk")
    ).only("username", "first_name", "last_name"),
    str,
)


def timeline_reads(obj: Any) -> list[tuple[Compiled, tuple[Any, ...]]]:
    """The timeline's two reads, for ``compiled.together`` (with a page's other reads)."""
    stream = stream_for(obj)
    return [(_EVENTS, (stream,)), (_ACTORS, (stream,))]


def timeline(obj: Any) -> list[Entry]:
    return timeline_of(*together(*timeline_reads(obj)))


def timeline_of(events: list[AuditEvent], actors: list[User]) -> list[Entry]:
    """The entries of ``timeline_reads``' answers."""
    names = {f"user:{u.pk}": (f"{u.first_name} {u.last_name}".strip() or u.username) for u in actors}
    entries = []
    labels: dict[str, str] = {}  # an order's stream repeats a few actions: translate each once
    for event in events:
        refused = event.action.endswith(".refused")
        data = event.data if refused else {}
        if event.action not in labels:
            labels[event.action] = label_of(event.action)
        entries.append(
            Entry(
                event=event,
                label=labels[event.action],
                actor=names.get(
                    event.actor, str(_("the system")) if event.actor == "system" else event.actor
                ),
                refused=refused,
                reason=str(data.get("reason", "")) if isinstance(data, dict) else "",
            )
        )
    return entries

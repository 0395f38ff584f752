"""The order's audit timeline as people read it: who did what, when, in their language."""

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from requests_portal.models import User
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


def timeline(obj: Any) -> list[Entry]:
    events = list(AuditEvent.objects.filter(stream=stream_for(obj)).order_by("seq"))
    user_ids = {int(e.actor.split(":", 1)[1]) for e in events if e.actor.startswith("user:")}
    names = {
        f"user:{pk}": (full.strip() or username)
        for pk, username, full in (
            (u.pk, u.username, f"{u.first_name} {u.last_name}") for u in User.objects.filter(pk__in=user_ids)
        )
    }
    entries = []
    for event in events:
        refused = event.action.endswith(".refused")
        data = event.data if refused else {}
        entries.append(
            Entry(
                event=event,
                label=label_of(event.action),
                actor=names.get(
                    event.actor, str(_("the system")) if event.actor == "system" else event.actor
                ),
                refused=refused,
                reason=str(data.get("reason", "")) if isinstance(data, dict) else "",
            )
        )
    return entries

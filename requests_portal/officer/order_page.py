"""What the order page shows: built from the order as it stands, for the user looking at it."""

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext as _

from workflow.choices import DataCategory, VerificationItem
from workflow.models import AuditEvent, DisclosureOrder, DisclosureState
from workflow.services.disclosure import scope_differences

from .actions import offers_for
from .forms import CheckForm, ScopeFormSet, ScopeJustificationForm
from .queries import urgency
from .timeline import timeline

S = DisclosureState
# The main path, for the lifecycle strip at the top of the page.
PATH = [
    S.RECEIVED,
    S.VERIFYING,
    S.SCOPING,
    S.AWAITING_APPROVAL,
    S.EXPORTING,
    S.PACKAGE_READY,
    S.RELEASED,
    S.DELIVERED,
    S.CLOSED,
]
# Where a side state sits on the main path.
ON_PATH = {S.CLARIFICATION_REQUESTED: S.VERIFYING, S.EXPORT_FAILED: S.EXPORTING}


def lifecycle(order: DisclosureOrder) -> list[dict[str, Any]]:
    current = ON_PATH.get(order.state, order.state)
    labels = dict(S.choices)
    position = PATH.index(current) if current in PATH else -1
    return [{"label": labels[s], "done": i < position, "current": s == current} for i, s in enumerate(PATH)]


def checklist(order: DisclosureOrder, user: Any, bound: dict[str, forms.Form]) -> list[dict[str, Any]]:
    recorded = {c.item: c for c in order.verification_checks.all()}
    may_record = order.state == S.VERIFYING and user.has_perm("workflow.verify_order")
    rows = []
    for item, label in VerificationItem.choices:
        form = None
        if may_record:
            form = bound.get(f"check:{item}") or CheckForm(authority=order.authority, prefix=item)
        rows.append({"item": item, "label": label, "check": recorded.get(item), "form": form})
    return rows


def scope_forms(order: DisclosureOrder, bound: dict[str, Any]) -> tuple[Any, forms.Form]:
    if "scope" in bound:
        return bound["scope"], bound["scope_justification"]
    initial = [
        {
            "customer_key": item.customer_key,
            "categories": item.categories,
            "date_from": item.date_from,
            "date_to": item.date_to,
            "evidence": evidence_text(item.match_evidence),
        }
        for item in order.scope_items.all()
    ]
    if not initial:
        initial = [
            {
                "categories": order.categories_requested,
                "date_from": order.requested_from,
                "date_to": order.requested_to,
            }
        ]
    formset = ScopeFormSet(initial=initial, prefix="scope")
    formset.extra = 1 if order.scope_items.exists() else 0
    justification = ScopeJustificationForm(
        initial={"third_party_justification": order.third_party_justification}
    )
    return formset, justification


def evidence_text(evidence: list[dict[str, Any]]) -> str:
    """One line per piece of evidence, ``key: value`` pairs, as the data map recorded them."""
    return "; ".join(", ".join(f"{k}: {v}" for k, v in piece.items()) for piece in evidence or [])


def package_facts(order: DisclosureOrder) -> dict[str, Any] | None:
    """What the audit trail says about the last package built for this order."""
    event = (
        AuditEvent.objects.filter(
            object_ref=f"disclosureorder:{order.reference}", action="order.package_ready"
        )
        .order_by("-seq")
        .first()
    )
    if event is None:
        return None
    data = event.data
    return {
        "id": data.get("package_id", ""),
        "sha256": data.get("package_sha256", ""),
        "at": event.occurred_at,
    }


def progress_context(order: DisclosureOrder) -> dict[str, Any]:
    """The export's progress. Until the package pipeline reports stages, an export in flight is
    shown as queued (an indeterminate bar): no percentage is invented."""
    return {
        "order": order,
        "percent": None,
        "stage": _("Waiting for the export worker"),
        "exporting": order.state == S.EXPORTING,
    }


def order_context(
    request: HttpRequest,
    order: DisclosureOrder,
    *,
    bound: dict[str, Any] | None = None,
    refusal: str = "",
    stale: bool = False,
) -> dict[str, Any]:
    bound = bound or {}
    user = request.user
    may_scope = order.state == S.SCOPING and user.has_perm("workflow.scope_order")
    formset, justification = scope_forms(order, bound) if may_scope else (None, None)
    differences = scope_differences(order)
    labels = dict(DataCategory.choices)
    return {
        "order": order,
        "lifecycle": lifecycle(order),
        "offers": offers_for(order, user, bound),
        "checklist": checklist(order, user, bound),
        "identifiers": list(order.identifiers.all()),
        "scope_items": [
            {"item": i, "categories": [labels.get(c, c) for c in i.categories], "evidence": i.match_evidence}
            for i in order.scope_items.all()
        ],
        "scope_formset": formset,
        "scope_justification": justification,
        "differences": {
            "requested": [labels.get(c, c) for c in differences["requested"]],
            "omitted": [labels.get(c, c) for c in differences["omitted"]],
            "customers": differences["customers"],
            "identifiers": differences["identifiers"],
        },
        "scope_problems": order.scope_problems() if order.state == S.SCOPING else [],
        "categories": [labels.get(c, c) for c in order.categories_requested],
        "package": package_facts(order),
        "progress": progress_context(order),
        "timeline": timeline(order),
        "refusal": refusal,
        "stale": stale,
        "urgency": urgency(order),
    }

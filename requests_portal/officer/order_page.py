"""What the order page shows: built from the order as it stands, for the user looking at it."""

from typing import Any

from django import forms
from django.http import Http404, HttpRequest

from workflow.choices import DataCategory, IdentifierKind, VerificationItem
from workflow.matching import MatchReport, MatchStatus
from workflow.models import (
    AuthorityContact,
    DisclosureOrder,
    DisclosureState,
    OrderIdentifier,
    Package,
    PackageState,
    ScopeItem,
    VerificationCheck,
)
from workflow.package.build import build_progress
from workflow.permissions import order_visibility, orders_visible_as
from workflow.services.disclosure import scope_differences

from .actions import offers_for
from .compiled import Compiled, is_prefetched, prefetched, together
from .forms import CheckForm, ScopeFormSet, ScopeJustificationForm
from .queries import urgency
from .timeline import items_html, timeline_of, timeline_reads

# What the page (and the services its forms call) read of an order found through the
# visibility gate, by SQL compiled once per process (``officer.compiled``).
_IDENTIFIERS = Compiled(lambda pk: OrderIdentifier.objects.filter(order_id=pk), int)
_CHECKS = Compiled(lambda pk: VerificationCheck.objects.filter(order_id=pk), int)
_SCOPE = Compiled(lambda pk: ScopeItem.objects.filter(order_id=pk), int)
_CONTACTS = Compiled(lambda pk: AuthorityContact.objects.filter(authority_id=pk), int)
# The last package built for the order (the one a download returns).
_LAST_PACKAGE = Compiled(
    lambda pk: Package.objects.filter(order_id=pk, state=PackageState.READY).order_by("-scope_revision")[:1],
    int,
)


# The visibility gate's read of one order, compiled once per kind of reader: its SQL is a function
# of the kind alone (``workflow.permissions.order_visibility``).
_VISIBLE: dict[str, Compiled] = {}
_KINDS_KEPT = 64


def visible_order(user: Any, reference: str) -> DisclosureOrder:
    """``get_object_or_404(orders_visible_to(user), reference=reference)``, asked for this user
    on every call; 404 when the order is not in the orders the user sees."""
    found = visible_order_read(order_visibility(user))(reference)
    if not found:
        raise Http404("No disclosure order matches the given query.")
    if len(found) > 1:
        raise DisclosureOrder.MultipleObjectsReturned(f"two orders have the reference {reference}")
    return found[0]


def compile_reads() -> None:
    """Compile every read of the order page now (no connection is opened): for a web process
    warmed before it serves (``requests_portal.warmup``), so that a worker's first order page
    does not compile them beside the others' requests."""
    for read in (_IDENTIFIERS, _CHECKS, _SCOPE, _CONTACTS, _LAST_PACKAGE):
        read.statement((0,))
    for read, _values in timeline_reads(DisclosureOrder(reference="")):
        read.statement(("",))
    visible_order_read("cases").statement(("",))


def visible_order_read(kind: str) -> Compiled:
    """The gate's read of one order by its reference for readers of this kind."""
    read = _VISIBLE.get(kind)
    if read is None:
        if len(_VISIBLE) >= _KINDS_KEPT:
            _VISIBLE.clear()
        read = _VISIBLE[kind] = Compiled(
            lambda ref, kind=kind: orders_visible_as(kind).filter(reference=ref)[:2], str
        )
    return read


def _related_reads(order: DisclosureOrder) -> list[tuple[Compiled, tuple[Any, ...]]]:
    return [(_IDENTIFIERS, (order.pk,)), (_CHECKS, (order.pk,)), (_SCOPE, (order.pk,))]


def _keep_related(
    order: DisclosureOrder, identifiers: list[Any], checks: list[Any], scope: list[Any]
) -> None:
    prefetched(order, "identifiers", identifiers)
    prefetched(order, "verification_checks", checks)
    prefetched(order, "scope_items", scope)


def read_related(order: DisclosureOrder) -> DisclosureOrder:
    """The order's identifiers, checklist and scope, read now (in one round trip where the
    database allows it) and kept on it, as ``prefetch_related("identifiers",
    "verification_checks", "scope_items")`` would."""
    _keep_related(order, *together(*_related_reads(order)))
    return order


def read_page(order: DisclosureOrder) -> tuple[Package | None, list[Any]]:
    """Everything else the order page shows of an order found through the gate, asked together:
    its identifiers, checklist and scope (kept on it, as ``read_related``), the authority's
    contacts while it is being verified (the checklist's forms list them), its last package,
    and its audit timeline. → (the package, the timeline's entries)."""
    reads = [*_related_reads(order), (_LAST_PACKAGE, (order.pk,)), *timeline_reads(order)]
    verifying = order.state == S.VERIFYING
    if verifying:
        reads.append((_CONTACTS, (order.authority_id,)))
    found = together(*reads)
    _keep_related(order, *found[:3])
    if verifying:
        prefetched(order.authority, "contacts", found[6])
    package = found[3][0] if found[3] else None
    return package, timeline_of(found[4], found[5])


def match_rows(report: MatchReport, order: DisclosureOrder) -> dict[str, Any]:
    """The matching report as the scoping section shows it: each identifier with its status,
    each matched customer with the evidence, and whether it is already in the scope."""
    labels = dict(MatchStatus.choices)
    kinds = dict(IdentifierKind.choices)
    scoped = {item.customer_key for item in order.scope_items.all()}
    return {
        "identifiers": [
            {
                "match": m,
                "kind": kinds.get(m.kind, m.kind),
                "status": labels.get(m.status, m.status),
                "customers": ", ".join(m.customer_keys),
            }
            for m in report.identifiers
        ],
        "customers": [
            {
                "key": c.customer_key,
                "evidence": [e.as_dict() for e in c.evidence],
                "scoped": c.customer_key in scoped,
            }
            for c in report.customers
        ],
        "conflicting": report.conflicting,
    }


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
    if may_record and not is_prefetched(order.authority, "contacts"):
        # Every item's form lists the authority's contacts: read them once, not once per form.
        prefetched(order.authority, "contacts", _CONTACTS(order.authority_id))
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


def progress_context(order: DisclosureOrder) -> dict[str, Any]:
    """The export's progress as the package pipeline reports it (stage and percent)."""
    if order.state != S.EXPORTING:
        return {"exporting": False}
    progress = build_progress(order)
    return {
        "exporting": True,
        "percent": progress["percent"],
        "stage": progress["stage_label"],
        "queued": progress["state"] == "queued",
    }


def order_context(
    request: HttpRequest,
    order: DisclosureOrder,
    *,
    bound: dict[str, Any] | None = None,
    refusal: str = "",
    stale: bool = False,
    matches: MatchReport | None = None,
) -> dict[str, Any]:
    bound = bound or {}
    user = request.user
    package, entries = read_page(order)
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
        "package": package,
        "progress": progress_context(order),
        "timeline_items": items_html(entries),
        "matches": match_rows(matches, order) if matches is not None else None,
        "refusal": refusal,
        "stale": stale,
        "urgency": urgency(order),
    }

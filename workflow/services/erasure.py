"""Erasure requests (DESIGN §1): erased or anonymised through the data map, except data under
legal hold (the whole request waits, and resumes when the hold ends), under a retention rule, or
needed for an open order — each refusal cited to the customer."""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import customer_store
from workflow.errors import DomainError, WrongState
from workflow.models import (
    DataSubjectRequest,
    DisclosureOrder,
    PreservationOrder,
    RefusalReason,
    RequestKind,
    RequestState,
)
from workflow.models.disclosure import OPEN_STATES as OPEN_ORDER_STATES
from workflow.models.disclosure import DisclosureState
from workflow.models.preservation import PreservationState

from .dsr import _notify_event, _require_handler, refused
from .notices import queue_notice
from .preservation import held_customer_keys
from .transitions import run_transition

R = RequestState
K = RequestKind


# Orders whose scope is not settled yet: the identifiers they name decide whom they concern.
UNSCOPED_ORDER_STATES = [
    DisclosureState.RECEIVED,
    DisclosureState.VERIFYING,
    DisclosureState.CLARIFICATION_REQUESTED,
    DisclosureState.SCOPING,
]
UNVERIFIED_PRESERVATION_STATES = [PreservationState.RECEIVED, PreservationState.VERIFYING]


def categories_needed_by_open_orders(customer_key: str, categories: Sequence[str]) -> set[str]:
    """The categories an open order may need from this customer: those of a scope line naming
    them, and — for an order not scoped yet — those it asks for when one of its identifiers
    matches them (an unverified preservation order needs everything). Erasing first and
    scoping later would destroy what the order demands, so a match is enough to keep."""
    needed: set[str] = set()
    for order in DisclosureOrder.objects.filter(
        state__in=OPEN_ORDER_STATES, scope_items__customer_key=customer_key
    ).prefetch_related("scope_items"):
        for item in order.scope_items.all():
            if item.customer_key == customer_key:
                needed.update(item.categories)
    pending: list[tuple[set[tuple[str, str]], set[str]]] = []
    for order in DisclosureOrder.objects.filter(state__in=UNSCOPED_ORDER_STATES).prefetch_related(
        "identifiers"
    ):
        named = {(i.kind, i.normalized) for i in order.identifiers.all() if i.normalized}
        pending.append((named, set(order.categories_requested)))
    for preservation_order in PreservationOrder.objects.filter(state__in=UNVERIFIED_PRESERVATION_STATES):
        named = {(i["kind"], i["value"]) for i in preservation_order.identifiers if i.get("value")}
        pending.append((named, set(categories)))
    wanted = set().union(*(named for named, _asked in pending)) if pending else set()
    naming = customer_store.identifiers_naming(customer_key, sorted(wanted))
    for named, asked in pending:
        if named & naming:
            needed.update(asked)
    return needed


def erasure_plan(customer_key: str, categories: Sequence[str]) -> list[dict[str, str]]:
    """Per category: erase, or refuse and why (retention rule, open order). Holds are decided
    before a plan is made: a held customer's erasure waits whole."""
    retention: Mapping[str, Mapping[str, Any]] = settings.STORE_RETENTION_RULES
    needed_by_orders = categories_needed_by_open_orders(customer_key, categories)
    kept_by_map = customer_store.retained_categories(customer_key)
    plan = []
    for category in categories:
        if category in kept_by_map:
            # The data map's own "retain" rule for this store, with the reason it gives.
            plan.append(
                {
                    "category": category,
                    "result": "refused",
                    "reason": RefusalReason.RETENTION,
                    "basis": kept_by_map[category],
                    "years": "",
                }
            )
        elif category in retention:
            rule = retention[category]
            plan.append(
                {
                    "category": category,
                    "result": "refused",
                    "reason": RefusalReason.RETENTION,
                    "basis": str(rule.get("basis", "")),
                    "years": str(rule.get("years", "")),
                }
            )
        elif category in needed_by_orders:
            plan.append({"category": category, "result": "refused", "reason": RefusalReason.OPEN_ORDER})
        else:
            plan.append({"category": category, "result": "erase"})
    return plan


def carry_out_erasure(
    dsr: DataSubjectRequest, *, actor: Any, expected_version: int | None = None
) -> DataSubjectRequest:
    """Erase what may be erased; defer the whole request while the customer is under legal hold."""
    try:
        _require_handler(actor)
    except DomainError as err:
        raise refused("dsr.erased", actor=actor, obj=dsr, err=err) from None
    return _erase(dsr, actor=actor, expected_version=expected_version, action="dsr.erased")


def _erase(
    dsr: DataSubjectRequest, *, actor: Any, action: str, expected_version: int | None = None
) -> DataSubjectRequest:
    if dsr.kind != K.ERASURE or dsr.state != R.IN_PROGRESS:
        err = WrongState(
            _("This is not an erasure request.")
            if dsr.kind != K.ERASURE
            else _("Start handling the request first.")
        )
        raise refused(action, actor=actor, obj=dsr, err=err)
    if dsr.customer_key in held_customer_keys():
        if dsr.deferred_by_hold_at is not None:
            return dsr
        # Nothing is erased; the request waits for the hold to end. The customer is told that a
        # legal obligation applies, never that a preservation order exists.
        return run_transition(
            dsr,
            "defer_for_hold",
            actor=actor,
            action="dsr.erasure_deferred",
            kwargs={"now": timezone.now()},
            data={"reason": RefusalReason.LEGAL_HOLD},
            expected_version=expected_version,
            on_commit=_notify_event("deferred"),
        )
    plan = erasure_plan(dsr.customer_key, dsr.details.get("categories", []))
    # Read before the contact details may go: the answer must still reach the customer.
    last_known = customer_store.contacts(dsr.customer_key)

    def notify(done: DataSubjectRequest) -> None:
        queue_notice(done.customer_key, f"dsr:{done.reference}:{done.state}", last_known=last_known)

    outcome = []
    for line in plan:
        if line["result"] == "erase":
            rows = customer_store.erase_category(dsr.customer_key, line["category"])
            outcome.append({"category": line["category"], "result": "erased", "rows": str(rows)})
        else:
            outcome.append(line)
    kept = [line for line in outcome if line["result"] == "refused"]
    name = "complete_partially" if kept else "complete"
    return run_transition(
        dsr,
        name,
        actor=actor,
        action=action,
        kwargs={"outcome": outcome, "answer": "", "now": timezone.now()},
        data={
            "erased": [o["category"] for o in outcome if o["result"] == "erased"],
            "refused": {o["category"]: o["reason"] for o in kept},
        },
        expected_version=expected_version if action == "dsr.erased" else None,
        on_commit=notify,
    )


def resume_deferred_erasures(*, today: dt.date | None = None) -> list[str]:
    """When a legal hold ends, every erasure it deferred is carried out and recorded (beat)."""
    held = held_customer_keys(today=today)
    resumed = []
    waiting = DataSubjectRequest.objects.filter(
        kind=K.ERASURE, state=R.IN_PROGRESS, deferred_by_hold_at__isnull=False
    ).exclude(customer_key__in=held)
    for dsr in waiting:
        _erase(dsr, actor=None, action="dsr.erasure_resumed")
        resumed.append(dsr.reference)
    return resumed

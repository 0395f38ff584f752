"""The scoping step of a disclosure order (DESIGN §1): the order's identifiers are matched to
store customers, with the evidence of each match, and the officer's chosen customers become the
scope. The scope is never wider than the order: ``disclosure.set_scope`` refuses credentials and
``submit_scope`` refuses anything not requested; here, categories and dates default to the
order's own, third-party data is left out unless a justification is given, and only customers
that an identifier of this order actually matched can be scoped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from workflow import audit
from workflow.choices import NEEDS_JUSTIFICATION, NEVER_DISCLOSED
from workflow.datamap import DataMap
from workflow.errors import InvalidInput, NotPermitted, WrongState
from workflow.matching import MatchReport, MatchStatus, match_identifiers
from workflow.models import DisclosureOrder, DisclosureState

from .disclosure import ScopeLine, set_scope


@dataclass(frozen=True)
class CustomerChoice:
    """A matched customer the officer puts in the scope; empty fields take the order's values."""

    customer_key: str
    categories: Sequence[str] | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _may_scope(order: DisclosureOrder, actor: Any) -> None:
    if not (actor.is_active and actor.has_perm("workflow.scope_order")):
        raise NotPermitted(_("Your role does not allow this action."))
    if order.state != DisclosureState.SCOPING:
        raise WrongState(
            _("This is not possible while the order is “%(state)s”.") % {"state": order.get_state_display()}
        )


def match_order(order: DisclosureOrder, *, actor: Any, datamap: DataMap | None = None) -> MatchReport:
    """Match the order's identifiers (already normalised at intake) against the store.

    Looking customers up is itself access to personal data, so it is audited — with statuses and
    customer keys only, never the values matched."""
    _may_scope(order, actor)
    identifiers = [(i.kind, i.normalized) for i in order.identifiers.order_by("id")]
    report = match_identifiers(identifiers, datamap=datamap)
    with transaction.atomic():
        audit.record(
            "order.identifiers_matched",
            actor=actor,
            obj=order,
            data={
                "statuses": {status: len(report.with_status(status)) for status in MatchStatus.values},
                "customers": [c.customer_key for c in report.customers],
                "conflicting": report.conflicting,
            },
        )
    return report


def scope_from_matches(
    order: DisclosureOrder,
    *,
    actor: Any,
    choices: Sequence[CustomerChoice],
    report: MatchReport | None = None,
    third_party_justification: str = "",
    datamap: DataMap | None = None,
    expected_version: int | None = None,
) -> DisclosureOrder:
    """Turn the chosen matches into the order's scope (each line carrying its match evidence).

    Only customers matched by this order's identifiers may be chosen; a customer matched only
    through an ambiguous identifier may be chosen, and the evidence says so."""
    _may_scope(order, actor)
    if not choices:
        raise InvalidInput(_("Choose at least one matched customer."))
    if report is None:
        report = match_order(order, actor=actor, datamap=datamap)
    justified = bool(third_party_justification.strip())
    default_categories = [
        c
        for c in order.categories_requested
        if c not in NEVER_DISCLOSED and (justified or c not in NEEDS_JUSTIFICATION)
    ]
    lines = []
    for choice in choices:
        match = report.customer(choice.customer_key)  # raises when this order never matched it
        ambiguous = {(m.kind, m.normalized) for m in report.with_status(MatchStatus.AMBIGUOUS)}
        evidence = [
            {**item, "ambiguous": "yes" if (item["kind"], item["identifier"]) in ambiguous else "no"}
            for item in match.evidence_dicts()
        ]
        lines.append(
            ScopeLine(
                customer_key=choice.customer_key,
                categories=list(choice.categories) if choice.categories is not None else default_categories,
                date_from=choice.date_from or order.requested_from,
                date_to=choice.date_to or order.requested_to,
                match_evidence=evidence,
            )
        )
    return set_scope(
        order,
        actor=actor,
        lines=lines,
        third_party_justification=third_party_justification,
        expected_version=expected_version,
    )

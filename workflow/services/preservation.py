"""Services for preservation orders (DESIGN §1): data is kept, nothing leaves the store."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import audit
from workflow.choices import RejectionCode
from workflow.errors import InvalidInput, NotPermitted
from workflow.identity import normalise_identifier, normalise_text
from workflow.models import Authority, DisclosureOrder, PreservationOrder, PreservationState

from .transitions import run_transition

P = PreservationState


def register_preservation(
    *,
    actor: Any,
    authority: Authority,
    authority_reference: str,
    issued_on: dt.date,
    received_on: dt.date,
    identifiers: Sequence[tuple[str, str]],
    hold_expires_on: dt.date,
    legal_basis: str = "",
) -> PreservationOrder:
    if not (actor.is_active and actor.has_perm("workflow.handle_preservation")):
        raise NotPermitted(_("Your role does not allow registering orders."))
    errors: dict[str, list[str]] = {}
    if not normalise_text(authority_reference):
        errors["authority_reference"] = [_("The authority's reference number is required.")]
    if received_on < issued_on:
        errors["received_on"] = [_("The order cannot be received before it was issued.")]
    if issued_on > timezone.localdate():
        errors["issued_on"] = [_("The issue date is in the future.")]
    if hold_expires_on <= timezone.localdate():
        errors["hold_expires_on"] = [_("A hold needs an expiry date in the future.")]
    normalised = []
    for kind, value in identifiers:
        try:
            normalised.append({"kind": kind, "value": normalise_identifier(kind, value)})
        except InvalidInput as err:
            errors.setdefault("identifiers", []).append(err.message)
    if not identifiers:
        errors["identifiers"] = [_("Name at least one identifier of the customer.")]
    if errors:
        raise InvalidInput(_("The order could not be registered."), field_errors=errors)
    with transaction.atomic():
        order = PreservationOrder.objects.create(
            authority=authority,
            authority_reference=normalise_text(authority_reference),
            issued_on=issued_on,
            received_on=received_on,
            identifiers=normalised,
            hold_expires_on=hold_expires_on,
            legal_basis=legal_basis,
            created_by=actor,
        )
        audit.record(
            "preservation.received",
            actor=actor,
            obj=order,
            data={
                "authority": authority.pk,
                "identifiers": len(normalised),
                "expires_on": hold_expires_on.isoformat(),
            },
        )
    return order


def start_verification(order: PreservationOrder, *, actor: Any) -> PreservationOrder:
    return run_transition(
        order, "start_verification", actor=actor, action="preservation.verification_started"
    )


def verify(order: PreservationOrder, *, actor: Any, customer_keys: Sequence[str]) -> PreservationOrder:
    """The officer confirms the order and names the matched customers to hold."""

    def validate(locked: PreservationOrder) -> None:
        if not locked.authority.may_issue(locked.instrument):
            raise InvalidInput(
                _("The registry does not list this authority as competent for this instrument.")
            )
        locked.customer_keys = sorted(set(customer_keys))

    return run_transition(
        order,
        "verify",
        actor=actor,
        action="preservation.verified",
        kwargs={"by": actor},
        validate=validate,
        data={"customers": sorted(set(customer_keys))},
    )


def place_hold(order: PreservationOrder, *, actor: Any) -> PreservationOrder:
    """Four eyes: an approver who did not verify the order places the legal hold."""
    return run_transition(
        order,
        "place_hold",
        actor=actor,
        action="preservation.hold_placed",
        kwargs={"by": actor, "now": timezone.now()},
    )


def reject(order: PreservationOrder, *, actor: Any, code: str, letter: str) -> PreservationOrder:
    if code not in RejectionCode.values or not letter.strip():
        raise InvalidInput(_("Choose a reason and write the rejection letter."))
    return run_transition(
        order,
        "reject",
        actor=actor,
        action="preservation.rejected",
        kwargs={"code": code, "letter": letter.strip()},
    )


def renew(order: PreservationOrder, *, actor: Any, until: dt.date) -> PreservationOrder:
    if order.hold_expires_on and until <= order.hold_expires_on:
        raise InvalidInput(_("A renewal must extend the hold beyond its current expiry."))
    return run_transition(
        order,
        "renew",
        actor=actor,
        action="preservation.renewed",
        kwargs={"until": until},
        data={"until": until.isoformat()},
    )


def release_hold(order: PreservationOrder, *, actor: Any, reason: str) -> PreservationOrder:
    if not reason.strip():
        raise InvalidInput(_("Say why the hold ends."))
    return run_transition(
        order,
        "release_hold",
        actor=actor,
        action="preservation.released",
        kwargs={"reason": reason.strip(), "now": timezone.now()},
    )


def expire_holds(*, today: dt.date | None = None) -> list[str]:
    """Release every hold whose expiry has passed (Celery beat). Returns the references."""
    today = today or timezone.localdate()
    expired = []
    for order in PreservationOrder.objects.filter(state=P.PRESERVING, hold_expires_on__lt=today):
        run_transition(
            order, "expire", actor=None, action="preservation.expired", kwargs={"now": timezone.now()}
        )
        expired.append(order.reference)
    return expired


def convert(order: PreservationOrder, *, actor: Any, disclosure: DisclosureOrder) -> PreservationOrder:
    """The authority followed its preservation order with a disclosure order."""
    if disclosure.authority_id != order.authority_id:
        raise InvalidInput(_("The disclosure order must come from the same authority."))
    return run_transition(
        order,
        "convert",
        actor=actor,
        action="preservation.converted",
        kwargs={"disclosure": disclosure, "now": timezone.now()},
        data={"disclosure_order": disclosure.reference},
    )


def held_customer_keys(*, today: dt.date | None = None) -> set[str]:
    """Every customer under an active legal hold."""
    today = today or timezone.localdate()
    keys: set[str] = set()
    for customer_keys in PreservationOrder.objects.filter(
        state=P.PRESERVING, hold_expires_on__gte=today
    ).values_list("customer_keys", flat=True):
        keys.update(customer_keys)
    return keys

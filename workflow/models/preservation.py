"""The preservation order: the named customers' data is kept, not disclosed (DESIGN §1).

While an order is ``preserving`` (until it expires, renewably), its customers are under legal
hold. By law the customer must not be told of a preservation order.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from workflow.choices import InstrumentType, RejectionCode

from .authority import Authority
from .conditions import condition
from .disclosure import DisclosureOrder, new_reference


class PreservationState(models.TextChoices):
    RECEIVED = "received", _("Received")
    VERIFYING = "verifying", _("Verifying")
    PRESERVING = "preserving", _("Preserving (legal hold)")
    RELEASED = "released", _("Hold released")
    CONVERTED = "converted", _("Converted to a disclosure order")
    REJECTED = "rejected", _("Rejected")


P = PreservationState


def _perm(codename: str) -> Any:
    def check(order: "PreservationOrder", user: Any) -> bool:
        return bool(user.is_active and user.has_perm(f"workflow.{codename}"))

    check.__name__ = f"may_{codename}"
    return check


def may_place_hold(order: Any, user: Any) -> bool:
    """Four eyes: the hold is placed by an approver who did not verify the order."""
    return _perm("approve_preservation")(order, user) and user.pk != order.verified_by_id


@condition(_("The order must be verified before the hold is placed."))
def is_verified(order: "PreservationOrder") -> bool:
    return order.verified_by_id is not None


@condition(_("A hold needs an expiry date in the future."))
def expiry_in_future(order: "PreservationOrder") -> bool:
    return order.hold_expires_on is not None and order.hold_expires_on > timezone.localdate()


class PreservationOrder(models.Model):
    reference = models.CharField(_("portal reference"), max_length=20, unique=True, editable=False)
    authority = models.ForeignKey(
        Authority, on_delete=models.PROTECT, related_name="preservation_orders", verbose_name=_("authority")
    )
    instrument = models.CharField(
        _("instrument"),
        max_length=30,
        choices=InstrumentType.choices,
        default=InstrumentType.PRESERVATION_ORDER,
    )
    authority_reference = models.CharField(_("the authority's reference number"), max_length=100)
    issued_on = models.DateField(_("issued on"))
    received_on = models.DateField(_("received on"))
    legal_basis = models.TextField(_("legal basis cited"), blank=True)
    document = models.FileField(_("scanned order"), upload_to="orders/", blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    # "<source>:<customer primary key>" of the customers whose data is held.
    customer_keys = models.JSONField(_("customers under hold"), default=list, blank=True)
    identifiers = models.JSONField(_("identifiers named"), default=list, blank=True)
    hold_expires_on = models.DateField(_("hold expires on"), null=True, blank=True)
    renewals = models.PositiveIntegerField(default=0, editable=False)

    state = FSMField(_("state"), default=P.RECEIVED, choices=P.choices, protected=True)
    version = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, editable=False
    )
    hold_placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, editable=False
    )
    hold_placed_at = models.DateTimeField(null=True, editable=False)
    hold_ended_at = models.DateTimeField(null=True, editable=False)
    rejection_code = models.CharField(
        _("rejection reason"), max_length=30, choices=RejectionCode.choices, blank=True
    )
    rejection_letter = models.TextField(_("rejection letter"), blank=True)
    release_reason = models.TextField(_("why the hold ended"), blank=True)
    converted_to = models.OneToOneField(
        DisclosureOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="preserved_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("preservation order")
        verbose_name_plural = _("preservation orders")
        ordering = ["-received_on", "id"]
        permissions = [
            ("handle_preservation", "Can register and verify preservation orders"),
            ("approve_preservation", "Can place, renew and release legal holds (four eyes)"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(hold_placed_by__isnull=True) | ~Q(hold_placed_by=F("verified_by")),
                name="four_eyes_hold",
                violation_error_message=_("The approver of a hold may not have verified the order."),
            ),
            models.CheckConstraint(
                condition=Q(received_on__gte=F("issued_on")), name="preservation_received_after_issued"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.reference:
            self.reference = new_reference("PO")
        super().save(*args, **kwargs)

    def holds_customer(self, customer_key: str, today: dt.date | None = None) -> bool:
        today = today or timezone.localdate()
        return (
            self.state == P.PRESERVING
            and customer_key in self.customer_keys
            and (self.hold_expires_on is None or today <= self.hold_expires_on)
        )

    @transition(field=state, source=P.RECEIVED, target=P.VERIFYING, permission=_perm("handle_preservation"))
    def start_verification(self) -> None:
        pass

    @transition(field=state, source=P.VERIFYING, target=P.VERIFYING, permission=_perm("handle_preservation"))
    def verify(self, *, by: Any) -> None:
        self.verified_by = by

    @transition(
        field=state,
        source=P.VERIFYING,
        target=P.PRESERVING,
        permission=may_place_hold,
        conditions=[is_verified, expiry_in_future],
    )
    def place_hold(self, *, by: Any, now: dt.datetime) -> None:
        self.hold_placed_by = by
        self.hold_placed_at = now

    @transition(
        field=state,
        source=[P.RECEIVED, P.VERIFYING],
        target=P.REJECTED,
        permission=_perm("handle_preservation"),
    )
    def reject(self, *, code: str, letter: str) -> None:
        self.rejection_code = code
        self.rejection_letter = letter

    @transition(field=state, source=P.PRESERVING, target=P.PRESERVING, permission=may_place_hold)
    def renew(self, *, until: dt.date) -> None:
        self.hold_expires_on = until
        self.renewals += 1

    @transition(field=state, source=P.PRESERVING, target=P.RELEASED, permission=may_place_hold)
    def release_hold(self, *, reason: str, now: dt.datetime) -> None:
        self.release_reason = reason
        self.hold_ended_at = now

    @transition(field=state, source=P.PRESERVING, target=P.RELEASED)
    def expire(self, *, now: dt.datetime) -> None:
        self.release_reason = "expired"
        self.hold_ended_at = now

    @transition(field=state, source=P.PRESERVING, target=P.CONVERTED, permission=_perm("handle_preservation"))
    def convert(self, *, disclosure: DisclosureOrder, now: dt.datetime) -> None:
        # The hold ends as the disclosure order takes over the same customers.
        self.converted_to = disclosure
        self.hold_ended_at = now

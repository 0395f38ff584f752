"""What the store's customers do in the portal (DESIGN §1, §5): sign in with one-time codes,
file data-subject requests, and receive notices on their registered channel.

A customer is not a portal user: they are known by their customer key in the store
(``"<source>:<customer pk>"``, the same as ``ScopeItem.customer_key``), never by a name.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, transition

from workflow.choices import Language

from .conditions import condition
from .disclosure import new_reference


class RequestKind(models.TextChoices):
    ACCESS = "access", _("Access to my data")
    RECTIFICATION = "rectification", _("Correction of my data")
    ERASURE = "erasure", _("Erasure of my data")
    MARKETING_OBJECTION = "marketing_objection", _("Objection to marketing")


class RequestState(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    PARTIALLY_COMPLETED = "partially_completed", _("Partially completed")
    REJECTED = "rejected", _("Rejected")


R = RequestState
OPEN_REQUEST_STATES = [R.SUBMITTED, R.IN_PROGRESS]


class RefusalReason(models.TextChoices):
    """Why part of an erasure is refused. The customer is told the public wording only: a legal
    hold must never be named to them (DESIGN §1: by law the customer is not told of a
    preservation order), so hold and open order share the wording "legal obligation"."""

    LEGAL_HOLD = "legal_hold", _("A legal obligation requires the store to keep this data for now")
    OPEN_ORDER = "open_order", _("A legal obligation requires the store to keep this data for now")
    RETENTION = "retention", _("The law requires the store to keep this data for a fixed period")


def _perm(codename: str) -> Any:
    def check(request: "DataSubjectRequest", user: Any) -> bool:
        return bool(user.is_active and user.has_perm(f"workflow.{codename}"))

    check.__name__ = f"may_{codename}"
    return check


@condition(_("A request may be extended once only."))
def not_yet_extended(request: "DataSubjectRequest") -> bool:
    return request.extended_at is None


@condition(_("An extension must be decided inside the first month."))
def inside_first_month(request: "DataSubjectRequest") -> bool:
    from django.utils import timezone

    return timezone.localdate() <= request.original_due_on


class DataSubjectRequest(models.Model):
    """A customer's own request about their data, answered within one month (extendable once)."""

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    customer_key = models.CharField(_("customer"), max_length=120, db_index=True)
    kind = models.CharField(_("kind"), max_length=30, choices=RequestKind.choices)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.PERSIAN
    )
    # Rectification: [{"field": "<category>.<field>", "value": "<new value>"}]; erasure: categories.
    # Personal data the customer typed stays here (not in the audit trail) and is cleared once applied.
    details = models.JSONField(_("what is asked"), default=dict, blank=True)
    customer_note = models.TextField(_("the customer's note"), blank=True, max_length=2000)

    state = FSMField(_("state"), default=R.SUBMITTED, choices=R.choices, protected=True)
    version = models.PositiveIntegerField(default=0, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"))
    original_due_on = models.DateField(_("due (one month)"))
    due_on = models.DateField(_("due on"))
    extended_at = models.DateTimeField(_("extended at"), null=True, blank=True, editable=False)
    extension_reason = models.TextField(_("reason for the extension"), blank=True)
    reminded_on = models.DateField(null=True, blank=True, editable=False)

    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, editable=False
    )
    decided_at = models.DateTimeField(null=True, editable=False)
    # What was done, per category or field: [{"category": …, "result": "erased"|"refused", "reason": …}]
    outcome = models.JSONField(_("outcome"), default=list, blank=True)
    answer = models.TextField(_("answer to the customer"), blank=True)
    # An erasure waiting for a legal hold to end: set while deferred, cleared when resumed.
    deferred_by_hold_at = models.DateTimeField(null=True, blank=True, editable=False)
    package_id = models.CharField(_("access package"), max_length=64, blank=True, editable=False)
    # The access package's file in the (encrypted-at-rest) default storage; emptied by retention.
    package_file = models.CharField(max_length=200, blank=True, editable=False)
    package_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    package_purged_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["state", "due_on"]), models.Index(fields=["customer_key", "kind"])]
        permissions = [
            ("handle_dsr", "Can handle customers' data-subject requests"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("original_due_on")), name="dsr_due_not_earlier"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.reference:
            self.reference = new_reference("DSR")
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_REQUEST_STATES

    @property
    def is_overdue(self) -> bool:
        from django.utils import timezone

        return self.is_open and self.due_on < timezone.localdate()

    def refusals(self) -> list[dict[str, str]]:
        return [line for line in self.outcome if line.get("result") == "refused"]

    # --- The lifecycle (bodies set fields only) ----------------------------------------------

    @transition(field=state, source=R.SUBMITTED, target=R.IN_PROGRESS, permission=_perm("handle_dsr"))
    def start(self, *, by: Any) -> None:
        self.handled_by = by

    @transition(field=state, source=R.SUBMITTED, target=R.IN_PROGRESS)
    def start_automatically(self) -> None:
        """Marketing objections and access builds need no officer to begin."""

    @transition(
        field=state,
        source=OPEN_REQUEST_STATES,
        target=RETURN_VALUE(*OPEN_REQUEST_STATES),
        permission=_perm("handle_dsr"),
        conditions=[not_yet_extended, inside_first_month],
    )
    def extend(self, *, reason: str, now: dt.datetime, until: dt.date) -> str:
        self.extension_reason = reason
        self.extended_at = now
        self.due_on = until
        return str(self.state)  # an extension changes the deadline, not the state

    @transition(field=state, source=R.IN_PROGRESS, target=R.IN_PROGRESS)
    def defer_for_hold(self, *, now: dt.datetime) -> None:
        self.deferred_by_hold_at = now

    @transition(field=state, source=R.IN_PROGRESS, target=R.COMPLETED)
    def complete(self, *, outcome: list[dict[str, str]], answer: str, now: dt.datetime) -> None:
        self.outcome = outcome
        self.answer = answer
        self.decided_at = now
        self.deferred_by_hold_at = None

    @transition(field=state, source=R.IN_PROGRESS, target=R.PARTIALLY_COMPLETED)
    def complete_partially(self, *, outcome: list[dict[str, str]], answer: str, now: dt.datetime) -> None:
        self.outcome = outcome
        self.answer = answer
        self.decided_at = now
        self.deferred_by_hold_at = None

    @transition(field=state, source=OPEN_REQUEST_STATES, target=R.REJECTED, permission=_perm("handle_dsr"))
    def reject(self, *, by: Any, answer: str, now: dt.datetime) -> None:
        self.handled_by = self.handled_by or by
        self.answer = answer
        self.decided_at = now


class SignInCode(models.Model):
    """A one-time sign-in code: stored hashed, single use, short-lived, attempt-limited.

    A row is written for every request, whether or not the identifier belongs to a customer
    (``customer_key`` is then empty), so that both answers take the same path and the same time,
    and so that rate limits count the same rows for both.
    """

    identifier_hmac = models.CharField(max_length=64, db_index=True)
    ip_hmac = models.CharField(max_length=64, db_index=True)
    customer_key = models.CharField(max_length=120, blank=True)
    channel = models.CharField(max_length=10)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    burned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in code")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"code #{self.pk}"


class CustomerNotice(models.Model):
    """A message sent to a customer; ``topic`` is unique per customer so a notice goes out once."""

    customer_key = models.CharField(max_length=120)
    topic = models.CharField(max_length=120)
    channel = models.CharField(max_length=10, blank=True)
    # Where to send it when the profile no longer holds a contact (the notice that an erasure of
    # the contact details was carried out): kept only until it is sent, then emptied.
    last_known_channel = models.CharField(max_length=10, blank=True)
    last_known_address = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer notice")
        constraints = [models.UniqueConstraint(fields=["customer_key", "topic"], name="customer_notice_once")]

    def __str__(self) -> str:
        return f"{self.customer_key} {self.topic}"

"""The disclosure order and its lifecycle (DESIGN §1).

Transition bodies only set fields; services (``workflow.services.disclosure``) lock the row,
check permission and conditions, save and write the audit event in one transaction.
"""

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from workflow.choices import (
    EMERGENCY_VERIFICATION,
    NEEDS_JUSTIFICATION,
    NEVER_DISCLOSED,
    DataCategory,
    DeliveryMethod,
    IdentifierKind,
    InstrumentType,
    Language,
    NoticeRule,
    Outcome,
    RejectionCode,
    VerificationItem,
)

from .authority import Authority
from .conditions import condition

_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_reference(prefix: str) -> str:
    """An unguessable, readable reference such as ``DO-7K3F-9Q2M``."""
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"{prefix}-{chars[:4]}-{chars[4:]}"


class DisclosureState(models.TextChoices):
    RECEIVED = "received", _("Received")
    VERIFYING = "verifying", _("Verifying")
    CLARIFICATION_REQUESTED = "clarification_requested", _("Clarification requested")
    REJECTED = "rejected", _("Rejected")
    SCOPING = "scoping", _("Scoping")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    EXPORTING = "exporting", _("Exporting")
    EXPORT_FAILED = "export_failed", _("Export failed")
    PACKAGE_READY = "package_ready", _("Package ready")
    RELEASED = "released", _("Released")
    DELIVERED = "delivered", _("Delivered")
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


S = DisclosureState
# "withdraw (from any state before released)"
WITHDRAWABLE = [
    S.RECEIVED,
    S.VERIFYING,
    S.CLARIFICATION_REQUESTED,
    S.SCOPING,
    S.AWAITING_APPROVAL,
    S.EXPORTING,
    S.EXPORT_FAILED,
    S.PACKAGE_READY,
]
OPEN_STATES = [*WITHDRAWABLE, S.RELEASED, S.DELIVERED]
TERMINAL_STATES = [S.REJECTED, S.CLOSED, S.WITHDRAWN]


# --- Permissions: model permission and, where the design says so, four eyes -----------------


def _perm(codename: str) -> Any:
    def check(order: "DisclosureOrder", user: Any) -> bool:
        return bool(user.is_active and user.has_perm(f"workflow.{codename}"))

    check.__name__ = f"may_{codename}"
    return check


def may_approve_scope(order: Any, user: Any) -> bool:
    """Four eyes: an approver approves only a scope they neither verified nor prepared."""
    return _perm("approve_scope")(order, user) and user.pk not in order.preparer_ids()


def may_release_package(order: Any, user: Any) -> bool:
    """Four eyes: the releaser of a package is neither the verifier nor the scoper."""
    return _perm("release_package")(order, user) and user.pk not in order.preparer_ids()


# --- Conditions ---------------------------------------------------------------------------------


@condition(
    _("Every item of the verification checklist must be checked and passed."),
    explain=lambda order: [str(VerificationItem(i).label) for i in order.failed_or_missing_checks()],
)
def checklist_passed(order: "DisclosureOrder") -> bool:
    return order.failed_or_missing_checks() == []


@condition(_("Only an emergency order may be scoped after identity-only verification."))
def is_emergency(order: "DisclosureOrder") -> bool:
    return order.emergency


@condition(_("The authority's competence and the order's authenticity must be confirmed first."))
def identity_checks_passed(order: "DisclosureOrder") -> bool:
    return not (set(order.failed_or_missing_checks()) & EMERGENCY_VERIFICATION)


@condition(
    _("The scope must not be wider than the order and must respect the exclusions."),
    explain=lambda order: order.scope_problems(),
)
def scope_within_request(order: "DisclosureOrder") -> bool:
    return order.scope_problems() == []


@condition(_("A formal order must follow an emergency order before it is closed."))
def formal_order_on_file(order: "DisclosureOrder") -> bool:
    return not order.emergency or order.formal_order_received_on is not None


class DisclosureOrder(models.Model):
    """An order of a judicial or administrative authority to disclose customers' data."""

    reference = models.CharField(_("portal reference"), max_length=20, unique=True, editable=False)
    authority = models.ForeignKey(
        Authority, on_delete=models.PROTECT, related_name="disclosure_orders", verbose_name=_("authority")
    )
    instrument = models.CharField(_("instrument"), max_length=30, choices=InstrumentType.choices)
    authority_reference = models.CharField(_("the authority's reference number"), max_length=100)
    issued_on = models.DateField(_("issued on"))
    received_on = models.DateField(_("received on"))
    due_on = models.DateField(_("due on"), help_text=_("Moves later while a clarification is awaited."))
    original_due_on = models.DateField(_("due date as received"))
    clock_paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    legal_basis = models.TextField(_("legal basis cited"), blank=True)
    document = models.FileField(_("scanned order"), upload_to="orders/", blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    categories_requested = models.JSONField(_("categories requested"), default=list)
    requested_from = models.DateField(_("requested from"))
    requested_to = models.DateField(_("requested to"))
    emergency = models.BooleanField(_("emergency"), default=False)
    emergency_followup_due = models.DateField(_("formal order due by"), null=True, blank=True)
    formal_order_received_on = models.DateField(_("formal order received on"), null=True, blank=True)
    notice_rule = models.CharField(_("customer notice"), max_length=30, choices=NoticeRule.choices)
    notice_withheld_until = models.DateField(_("notice withheld until"), null=True, blank=True)
    notice_lifted_at = models.DateTimeField(_("non-disclosure lifted at"), null=True, blank=True)
    language = models.CharField(_("language of the package"), max_length=2, choices=Language.choices)

    state = FSMField(_("state"), default=S.RECEIVED, choices=S.choices, protected=True)
    # Bumped by every service call: a page posts the version it showed, so that a stale page's
    # action is refused as a conflict instead of acting on a state its user never saw.
    version = models.PositiveIntegerField(default=0, editable=False)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, editable=False
    )
    scoped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, editable=False
    )
    scope_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, editable=False
    )
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, editable=False
    )
    scope_revision = models.PositiveIntegerField(default=0, editable=False)
    scope_submitted_at = models.DateTimeField(null=True, editable=False)
    scope_approved_at = models.DateTimeField(null=True, editable=False)
    third_party_justification = models.TextField(_("justification for third-party data"), blank=True)

    clarification_request = models.TextField(_("clarification requested"), blank=True)
    return_reason = models.TextField(_("reason the scope was returned"), blank=True)
    rejection_code = models.CharField(
        _("rejection reason"), max_length=30, choices=RejectionCode.choices, blank=True
    )
    rejection_letter = models.TextField(_("rejection letter"), blank=True)
    withdrawal_reason = models.TextField(_("withdrawal reason"), blank=True)
    export_error = models.TextField(_("export error"), blank=True)
    released_at = models.DateTimeField(null=True, editable=False)
    delivery_method = models.CharField(
        _("delivery method"), max_length=20, choices=DeliveryMethod.choices, blank=True
    )
    delivered_to = models.CharField(_("received by"), max_length=200, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    delivery_proof = models.TextField(_("proof of receipt"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=30, choices=Outcome.choices, blank=True)
    closed_at = models.DateTimeField(null=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("disclosure order")
        verbose_name_plural = _("disclosure orders")
        ordering = ["-emergency", "due_on", "id"]
        indexes = [
            models.Index(fields=["state", "due_on"]),
            models.Index(fields=["authority_reference"]),
            models.Index(fields=["-received_on"]),
            # The officers' queue reads the open orders only (a few percent of the table), in
            # its display order: a partial index in that order answers "the first 25" without
            # sorting, and the per-state one also counts the open orders by state (index only).
            models.Index(
                fields=["-emergency", "due_on", "id"],
                name="order_open_queue",
                condition=Q(state__in=OPEN_STATES),
            ),
            models.Index(
                fields=["state", "-emergency", "due_on", "id"],
                name="order_open_by_state",
                condition=Q(state__in=OPEN_STATES),
            ),
        ]
        permissions = [
            ("register_order", "Can register an incoming order"),
            ("verify_order", "Can verify an order"),
            ("scope_order", "Can scope an order"),
            ("approve_scope", "Can approve a scope (four eyes)"),
            ("release_package", "Can release a package (four eyes)"),
            ("deliver_order", "Can record delivery and close"),
            ("withdraw_order", "Can record an order's withdrawal"),
            ("retry_export", "Can retry a failed export"),
        ]
        constraints = [
            # Four eyes, in the database: neither a view, nor the admin, nor a shell call can
            # record an approval or release by the person who verified or scoped the order.
            models.CheckConstraint(
                condition=Q(scope_approved_by__isnull=True)
                | (~Q(scope_approved_by=F("verified_by")) & ~Q(scope_approved_by=F("scoped_by"))),
                name="four_eyes_scope_approval",
                violation_error_message=_(
                    "The approver of a scope may not have verified or scoped the order."
                ),
            ),
            models.CheckConstraint(
                condition=Q(released_by__isnull=True)
                | (~Q(released_by=F("verified_by")) & ~Q(released_by=F("scoped_by"))),
                name="four_eyes_release",
                violation_error_message=_(
                    "The releaser of a package may not have verified or scoped the order."
                ),
            ),
            models.CheckConstraint(
                condition=Q(requested_from__lte=F("requested_to")), name="requested_range_ordered"
            ),
            models.CheckConstraint(
                condition=Q(received_on__gte=F("issued_on")), name="received_after_issued"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.reference:
            self.reference = new_reference("DO")
        super().save(*args, **kwargs)

    # --- Derived facts --------------------------------------------------------------------

    def preparer_ids(self) -> set[int]:
        return {pk for pk in (self.verified_by_id, self.scoped_by_id) if pk is not None}

    def failed_or_missing_checks(self) -> list[str]:
        passed = {c.item for c in self.verification_checks.all() if c.passed}
        return [item for item in VerificationItem.values if item not in passed]

    def scope_problems(self) -> list[str]:
        """Why the current scope is wider than the order allows (empty when it is not)."""
        problems: list[str] = []
        requested = set(self.categories_requested)
        for item in self.scope_items.all():
            label = item.customer_key
            for category in item.categories:
                if category in NEVER_DISCLOSED:
                    problems.append(_("%(customer)s: credentials are never disclosed.") % {"customer": label})
                elif category not in requested:
                    problems.append(
                        _("%(customer)s: category “%(category)s” was not requested.")
                        % {"customer": label, "category": DataCategory(category).label}
                    )
                elif category in NEEDS_JUSTIFICATION and not self.third_party_justification.strip():
                    problems.append(
                        _("%(customer)s: third-party recipient data needs a recorded justification.")
                        % {"customer": label}
                    )
            if item.date_from < self.requested_from or item.date_to > self.requested_to:
                problems.append(
                    _("%(customer)s: the date range is wider than the order's.") % {"customer": label}
                )
            if item.date_from > item.date_to:
                problems.append(
                    _("%(customer)s: the date range ends before it starts.") % {"customer": label}
                )
        return [str(p) for p in problems]

    def notice_withheld(self, today: dt.date | None = None) -> bool:
        """True while a non-disclosure order forbids telling the customer."""
        if self.notice_rule == NoticeRule.NOTIFY or self.notice_lifted_at is not None:
            return False
        if self.notice_rule == NoticeRule.WITHHOLD_UNTIL_DATE:
            today = today or timezone.localdate()
            return self.notice_withheld_until is None or today < self.notice_withheld_until
        return True

    @property
    def is_overdue(self) -> bool:
        return self.state in OPEN_STATES and self.due_on < timezone.localdate()

    # --- The lifecycle (bodies set fields only) --------------------------------------------

    @transition(field=state, source=S.RECEIVED, target=S.VERIFYING, permission=_perm("verify_order"))
    def start_verification(self) -> None:
        pass

    @transition(
        field=state, source=S.VERIFYING, target=S.CLARIFICATION_REQUESTED, permission=_perm("verify_order")
    )
    def request_clarification(self, *, question: str, now: dt.datetime) -> None:
        # The due-date clock pauses while the authority answers.
        self.clarification_request = question
        self.clock_paused_at = now

    @transition(
        field=state, source=S.CLARIFICATION_REQUESTED, target=S.VERIFYING, permission=_perm("verify_order")
    )
    def receive_clarification(self, *, now: dt.datetime) -> None:
        if self.clock_paused_at is not None:
            paused_days = (timezone.localdate(now) - timezone.localdate(self.clock_paused_at)).days
            self.due_on = self.due_on + dt.timedelta(days=paused_days)
        self.clock_paused_at = None

    @transition(
        field=state,
        source=[S.VERIFYING, S.CLARIFICATION_REQUESTED],
        target=S.REJECTED,
        permission=_perm("verify_order"),
    )
    def reject(self, *, code: str, letter: str) -> None:
        self.rejection_code = code
        self.rejection_letter = letter
        self.clock_paused_at = None

    @transition(
        field=state,
        source=S.VERIFYING,
        target=S.SCOPING,
        permission=_perm("verify_order"),
        conditions=[checklist_passed],
    )
    def verify(self, *, by: Any) -> None:
        self.verified_by = by

    @transition(
        field=state,
        source=S.VERIFYING,
        target=S.SCOPING,
        permission=_perm("verify_order"),
        conditions=[is_emergency, identity_checks_passed],
    )
    def verify_emergency(self, *, by: Any, followup_due: dt.date) -> None:
        self.verified_by = by
        self.emergency_followup_due = followup_due

    @transition(
        field=state,
        source=S.SCOPING,
        target=S.AWAITING_APPROVAL,
        permission=_perm("scope_order"),
        conditions=[scope_within_request],
    )
    def submit_scope(self, *, by: Any, now: dt.datetime) -> None:
        self.scoped_by = by
        self.scope_submitted_at = now
        self.return_reason = ""

    @transition(field=state, source=S.AWAITING_APPROVAL, target=S.SCOPING, permission=may_approve_scope)
    def return_scope(self, *, reason: str) -> None:
        self.return_reason = reason

    @transition(
        field=state,
        source=S.AWAITING_APPROVAL,
        target=S.EXPORTING,
        permission=may_approve_scope,
        conditions=[scope_within_request],
    )
    def approve_scope(self, *, by: Any, now: dt.datetime) -> None:
        self.scope_approved_by = by
        self.scope_approved_at = now
        self.scope_revision += 1
        self.export_error = ""

    @transition(field=state, source=S.EXPORTING, target=S.PACKAGE_READY)
    def export_succeeded(self) -> None:
        self.export_error = ""

    @transition(field=state, source=S.EXPORTING, target=S.EXPORT_FAILED)
    def export_failed(self, *, error: str) -> None:
        self.export_error = error

    @transition(field=state, source=S.EXPORT_FAILED, target=S.EXPORTING, permission=_perm("retry_export"))
    def retry_export(self) -> None:
        self.export_error = ""

    @transition(field=state, source=S.PACKAGE_READY, target=S.SCOPING, permission=may_release_package)
    def return_package(self, *, reason: str) -> None:
        # The package goes back for a new scope; a new approval will build a new package.
        self.return_reason = reason
        self.scope_approved_by = None
        self.scope_approved_at = None

    @transition(field=state, source=S.PACKAGE_READY, target=S.RELEASED, permission=may_release_package)
    def release(self, *, by: Any, now: dt.datetime) -> None:
        self.released_by = by
        self.released_at = now

    @transition(field=state, source=S.RELEASED, target=S.DELIVERED, permission=_perm("deliver_order"))
    def record_delivery(
        self, *, delivery_method: str, recipient: str, delivered_at: dt.datetime, proof: str
    ) -> None:
        self.delivery_method = delivery_method
        self.delivered_to = recipient
        self.delivered_at = delivered_at
        self.delivery_proof = proof

    @transition(
        field=state,
        source=S.DELIVERED,
        target=S.CLOSED,
        permission=_perm("deliver_order"),
        conditions=[formal_order_on_file],
    )
    def close(self, *, outcome: str, now: dt.datetime) -> None:
        self.outcome = outcome
        self.closed_at = now

    @transition(field=state, source=WITHDRAWABLE, target=S.WITHDRAWN, permission=_perm("withdraw_order"))
    def withdraw(self, *, reason: str) -> None:
        self.withdrawal_reason = reason
        self.clock_paused_at = None


class OrderIdentifier(models.Model):
    """An identifier named in the order, as written and as normalised for matching."""

    order = models.ForeignKey(DisclosureOrder, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(_("kind"), max_length=20, choices=IdentifierKind.choices)
    value = models.CharField(_("as written in the order"), max_length=200)
    normalized = models.CharField(_("normalised"), max_length=200)

    class Meta:
        verbose_name = _("identifier named in the order")
        constraints = [
            models.UniqueConstraint(fields=["order", "kind", "normalized"], name="order_identifier_unique")
        ]
        indexes = [models.Index(fields=["kind", "normalized"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class VerificationCheck(models.Model):
    """One item of the verification checklist, as last recorded."""

    order = models.ForeignKey(DisclosureOrder, on_delete=models.CASCADE, related_name="verification_checks")
    item = models.CharField(_("check"), max_length=30, choices=VerificationItem.choices)
    passed = models.BooleanField(_("passed"))
    note = models.TextField(_("note"), blank=True)
    # For authenticity: who called whom, on which independently found number, when.
    details = models.JSONField(_("details"), default=dict, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField()

    class Meta:
        verbose_name = _("verification check")
        constraints = [models.UniqueConstraint(fields=["order", "item"], name="verification_check_unique")]

    def __str__(self) -> str:
        return f"{self.get_item_display()}: {'✓' if self.passed else '✗'}"


class ScopeItem(models.Model):
    """One matched customer in the scope: the categories and dates to export for them."""

    order = models.ForeignKey(DisclosureOrder, on_delete=models.CASCADE, related_name="scope_items")
    # "<source>:<customer primary key>" in the store's data map; never a name.
    customer_key = models.CharField(_("customer"), max_length=120)
    categories = models.JSONField(_("categories"), default=list)
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to"))
    # Which identifier of the order matched which column of the store, and how.
    match_evidence = models.JSONField(_("match evidence"), default=list, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("scoped customer")
        constraints = [models.UniqueConstraint(fields=["order", "customer_key"], name="scope_item_unique")]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.customer_key

"""Services for disclosure orders: one function per user action (DESIGN §1)."""

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import audit
from workflow.choices import (
    NEVER_DISCLOSED,
    DataCategory,
    DeliveryMethod,
    InstrumentType,
    Language,
    NoticeRule,
    Outcome,
    RejectionCode,
    VerificationItem,
)
from workflow.errors import InvalidInput, NotPermitted
from workflow.identity import normalise_identifier, normalise_text
from workflow.models import (
    Authority,
    DisclosureOrder,
    DisclosureState,
    OrderIdentifier,
    ScopeItem,
    VerificationCheck,
)

from .transitions import run_transition, run_update

S = DisclosureState

# A hook the package pipeline registers: called on commit of an approved scope / a retry.
export_enqueuers: list[Callable[[DisclosureOrder], None]] = []


def _enqueue_export(order: DisclosureOrder) -> None:
    for enqueue in export_enqueuers:
        enqueue(order)


@dataclass
class Intake:
    """What an officer reads off an incoming order."""

    authority: Authority
    instrument: str
    authority_reference: str
    issued_on: dt.date
    received_on: dt.date
    due_on: dt.date
    categories: Sequence[str]
    requested_from: dt.date
    requested_to: dt.date
    identifiers: Sequence[tuple[str, str]]
    notice_rule: str = NoticeRule.NOTIFY
    notice_withheld_until: dt.date | None = None
    emergency: bool = False
    language: str = Language.PERSIAN
    legal_basis: str = ""
    document_sha256: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    def problem(self, field_name: str, message: str) -> None:
        self.errors.setdefault(field_name, []).append(message)

    def validate(self) -> list[tuple[str, str, str]]:
        """Check every field; collect every problem; return the normalised identifiers."""
        if not self.authority.active:
            self.problem("authority", _("This authority is no longer active in the registry."))
        if self.instrument not in InstrumentType.values:
            self.problem("instrument", _("Unknown instrument type."))
        elif self.instrument == InstrumentType.PRESERVATION_ORDER:
            self.problem("instrument", _("A preservation order is registered as a preservation order."))
        reference = normalise_text(self.authority_reference)
        if not reference:
            self.problem("authority_reference", _("The authority's reference number is required."))
        today = timezone.localdate()
        if self.issued_on > today:
            self.problem("issued_on", _("The issue date is in the future."))
        if self.received_on < self.issued_on:
            self.problem("received_on", _("The order cannot be received before it was issued."))
        if self.received_on > today:
            self.problem("received_on", _("The date received is in the future."))
        if self.due_on < self.received_on:
            self.problem("due_on", _("The due date is before the date received."))
        if self.requested_from > self.requested_to:
            self.problem("requested_to", _("The requested period ends before it starts."))
        if not self.categories:
            self.problem("categories", _("Name at least one category of data."))
        for category in self.categories:
            if category not in DataCategory.values:
                self.problem("categories", _("Unknown category “%(c)s”.") % {"c": category})
            elif category in NEVER_DISCLOSED:
                self.problem(
                    "categories", _("Credentials are never disclosed; remove them from the request.")
                )
        if self.notice_rule not in NoticeRule.values:
            self.problem("notice_rule", _("Unknown notice rule."))
        elif self.notice_rule == NoticeRule.WITHHOLD_UNTIL_DATE and not self.notice_withheld_until:
            self.problem("notice_withheld_until", _("Give the date until which notice is withheld."))
        if self.language not in Language.values:
            self.problem("language", _("Unknown language."))
        normalised: list[tuple[str, str, str]] = []
        if not self.identifiers:
            self.problem("identifiers", _("Name at least one identifier of the customer."))
        for kind, value in self.identifiers:
            try:
                normalised.append((kind, value.strip(), normalise_identifier(kind, value)))
            except InvalidInput as err:
                self.problem("identifiers", err.message)
        return normalised


def register_order(intake: Intake, *, actor: Any) -> DisclosureOrder:
    """Record an incoming order. Every field is checked and every problem reported at once."""
    if not (actor.is_active and actor.has_perm("workflow.register_order")):
        audit.record_refusal(
            "order.register.refused", actor=actor, obj=None, reason="not permitted", code="not_permitted"
        )
        raise NotPermitted(_("Your role does not allow registering orders."))
    identifiers = intake.validate()
    if intake.errors:
        raise InvalidInput(_("The order could not be registered."), field_errors=intake.errors)
    with transaction.atomic():
        order = DisclosureOrder.objects.create(
            authority=intake.authority,
            instrument=intake.instrument,
            authority_reference=normalise_text(intake.authority_reference),
            issued_on=intake.issued_on,
            received_on=intake.received_on,
            due_on=intake.due_on,
            original_due_on=intake.due_on,
            categories_requested=sorted(set(intake.categories)),
            requested_from=intake.requested_from,
            requested_to=intake.requested_to,
            emergency=intake.emergency,
            notice_rule=intake.notice_rule,
            notice_withheld_until=intake.notice_withheld_until,
            language=intake.language,
            legal_basis=intake.legal_basis,
            document_sha256=intake.document_sha256,
            created_by=actor,
        )
        seen = set()
        for kind, value, normalised in identifiers:
            if (kind, normalised) in seen:
                continue
            seen.add((kind, normalised))
            OrderIdentifier.objects.create(order=order, kind=kind, value=value, normalized=normalised)
        audit.record(
            "order.received",
            actor=actor,
            obj=order,
            data={
                "authority": intake.authority.pk,
                "instrument": intake.instrument,
                "emergency": intake.emergency,
                "categories": order.categories_requested,
                "identifiers": len(seen),
                "notice_rule": intake.notice_rule,
                "document_sha256": intake.document_sha256,
            },
        )
    return order


def start_verification(
    order: DisclosureOrder, *, actor: Any, expected_version: int | None = None
) -> DisclosureOrder:
    return run_transition(
        order,
        "start_verification",
        actor=actor,
        action="order.verification_started",
        expected_version=expected_version,
    )


def record_check(
    order: DisclosureOrder,
    *,
    actor: Any,
    item: str,
    passed: bool,
    note: str = "",
    details: dict[str, str] | None = None,
    expected_version: int | None = None,
) -> DisclosureOrder:
    """Record one checklist item. Competence is read from the registry, not asserted; an
    authenticity confirmation must say who was called, on which independently found number."""
    if item not in VerificationItem.values:
        raise InvalidInput(_("Unknown checklist item."))
    details = {k: str(v) for k, v in (details or {}).items()}

    def change(locked: DisclosureOrder) -> dict[str, Any]:
        competent = locked.authority.active and locked.authority.may_issue(locked.instrument)
        if item == VerificationItem.AUTHORITY_COMPETENT and passed and not competent:
            raise InvalidInput(
                _("The registry does not list this authority as competent to issue a “%(i)s”.")
                % {"i": locked.get_instrument_display()}
            )
        if item == VerificationItem.AUTHENTICITY_CONFIRMED and passed:
            missing = [k for k in ("contact_id", "spoke_with", "called_at") if not details.get(k)]
            if missing:
                raise InvalidInput(
                    _("Say which independently found contact was used, whom you spoke with and when."),
                    field_errors={k: [_("Required.")] for k in missing},
                )
            if not locked.authority.contacts.filter(pk=details["contact_id"]).exists():
                raise InvalidInput(_("The contact used must be one of the authority's registered contacts."))
        if item == VerificationItem.LEGAL_BASIS_CITED and passed and not (note or locked.legal_basis).strip():
            raise InvalidInput(_("Cite the legal basis."))
        VerificationCheck.objects.update_or_create(
            order=locked,
            item=item,
            defaults={
                "passed": passed,
                "note": note,
                "details": details,
                "checked_by": actor,
                "checked_at": timezone.now(),
            },
        )
        return {"item": item, "passed": passed}

    return run_update(
        order,
        actor=actor,
        action="order.check_recorded",
        allowed_states=[S.VERIFYING],
        permission="workflow.verify_order",
        change=change,
        expected_version=expected_version,
    )


def request_clarification(
    order: DisclosureOrder, *, actor: Any, question: str, expected_version: int | None = None
) -> DisclosureOrder:
    """Ask the authority to clarify; the due-date clock pauses until the answer."""
    if not question.strip():
        raise InvalidInput(_("Say what needs clarifying."), field_errors={"question": [_("Required.")]})
    return run_transition(
        order,
        "request_clarification",
        actor=actor,
        action="order.clarification_requested",
        expected_version=expected_version,
        kwargs={"question": question.strip(), "now": timezone.now()},
    )


def receive_clarification(
    order: DisclosureOrder, *, actor: Any, note: str = "", expected_version: int | None = None
) -> DisclosureOrder:
    return run_transition(
        order,
        "receive_clarification",
        actor=actor,
        action="order.clarification_received",
        expected_version=expected_version,
        kwargs={"now": timezone.now()},
        data={"note_sha256": hashlib.sha256(note.encode()).hexdigest()} if note else {},
    )


def reject(
    order: DisclosureOrder, *, actor: Any, code: str, letter: str, expected_version: int | None = None
) -> DisclosureOrder:
    """Refuse the order with a coded reason and the letter sent to the authority."""
    errors: dict[str, list[str]] = {}
    if code not in RejectionCode.values:
        errors["code"] = [_("Choose a reason.")]
    if not letter.strip():
        errors["letter"] = [_("Write the rejection letter.")]
    if errors:
        raise InvalidInput(_("The rejection is incomplete."), field_errors=errors)
    return run_transition(
        order,
        "reject",
        actor=actor,
        action="order.rejected",
        expected_version=expected_version,
        kwargs={"code": code, "letter": letter.strip()},
        data={"code": code},
    )


def verify(order: DisclosureOrder, *, actor: Any, expected_version: int | None = None) -> DisclosureOrder:
    return run_transition(
        order,
        "verify",
        actor=actor,
        action="order.verified",
        expected_version=expected_version,
        kwargs={"by": actor},
    )


def verify_emergency(
    order: DisclosureOrder, *, actor: Any, followup_due: dt.date, expected_version: int | None = None
) -> DisclosureOrder:
    """Emergency path: scoping may start after identity-only verification; the formal order
    must follow by ``followup_due``."""
    if followup_due <= timezone.localdate():
        raise InvalidInput(
            _("The formal order's deadline must be in the future."),
            field_errors={"followup_due": [_("Too early.")]},
        )
    return run_transition(
        order,
        "verify_emergency",
        actor=actor,
        action="order.verified_emergency",
        expected_version=expected_version,
        kwargs={"by": actor, "followup_due": followup_due},
        data={"followup_due": followup_due.isoformat()},
    )


def record_formal_order(
    order: DisclosureOrder, *, actor: Any, received_on: dt.date, expected_version: int | None = None
) -> DisclosureOrder:
    """The formal order that follows an emergency request has arrived."""
    if not order.emergency:
        raise InvalidInput(_("Only an emergency order awaits a formal order."))
    if received_on > timezone.localdate():
        raise InvalidInput(_("The date received is in the future."))

    def change(locked: DisclosureOrder) -> dict[str, Any]:
        locked.formal_order_received_on = received_on
        return {"received_on": received_on.isoformat()}

    return run_update(
        order,
        actor=actor,
        action="order.formal_order_received",
        allowed_states=[s for s in S.values if s not in (S.RECEIVED, S.VERIFYING, S.CLOSED)],
        permission="workflow.verify_order",
        change=change,
        expected_version=expected_version,
    )


@dataclass(frozen=True)
class ScopeLine:
    customer_key: str
    categories: Sequence[str]
    date_from: dt.date
    date_to: dt.date
    match_evidence: Sequence[dict[str, str]] = ()


def set_scope(
    order: DisclosureOrder,
    *,
    actor: Any,
    lines: Iterable[ScopeLine],
    third_party_justification: str = "",
    expected_version: int | None = None,
) -> DisclosureOrder:
    """Replace the scope: per matched customer, categories × dates. Credentials are refused
    here already; the full "not wider than requested" check gates ``submit_scope``."""
    lines = list(lines)
    keys = [line.customer_key for line in lines]
    if len(keys) != len(set(keys)):
        raise InvalidInput(_("A customer appears twice in the scope."))
    for line in lines:
        if set(line.categories) & NEVER_DISCLOSED:
            raise InvalidInput(_("Credentials are never disclosed."))
        if not set(line.categories) <= set(DataCategory.values):
            raise InvalidInput(_("Unknown data category."))

    def change(locked: DisclosureOrder) -> dict[str, Any]:
        locked.scope_items.all().delete()
        for line in lines:
            ScopeItem.objects.create(
                order=locked,
                customer_key=line.customer_key,
                categories=sorted(set(line.categories)),
                date_from=line.date_from,
                date_to=line.date_to,
                match_evidence=list(line.match_evidence),
                added_by=actor,
            )
        locked.third_party_justification = third_party_justification.strip()
        return {
            "customers": keys,
            "scope_sha256": scope_digest(locked),
            "third_party_justified": bool(locked.third_party_justification),
        }

    return run_update(
        order,
        actor=actor,
        action="order.scope_set",
        allowed_states=[S.SCOPING],
        permission="workflow.scope_order",
        change=change,
        expected_version=expected_version,
    )


def scope_digest(order: DisclosureOrder) -> str:
    """A hash of the scope as it stands, so that the audit trail pins what was approved."""
    lines = sorted(
        f"{i.customer_key}|{','.join(sorted(i.categories))}|{i.date_from}|{i.date_to}"
        for i in order.scope_items.all()
    )
    lines.append(f"justification|{order.third_party_justification}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def scope_differences(order: DisclosureOrder) -> dict[str, Any]:
    """Requested vs scoped: what the order asked for that the scope does not produce, and why."""
    requested = set(order.categories_requested)
    produced: set[str] = set()
    for item in order.scope_items.all():
        produced.update(item.categories)
    omitted = sorted(requested - produced)
    return {
        "requested": sorted(requested),
        "produced": sorted(produced),
        "omitted": omitted,
        "customers": order.scope_items.count(),
        "identifiers": order.identifiers.count(),
    }


def submit_scope(
    order: DisclosureOrder, *, actor: Any, expected_version: int | None = None
) -> DisclosureOrder:
    return run_transition(
        order,
        "submit_scope",
        actor=actor,
        action="order.scope_submitted",
        expected_version=expected_version,
        kwargs={"by": actor, "now": timezone.now()},
        data={"scope_sha256": scope_digest(order), "differences": scope_differences(order)},
    )


def return_scope(
    order: DisclosureOrder, *, actor: Any, reason: str, expected_version: int | None = None
) -> DisclosureOrder:
    if not reason.strip():
        raise InvalidInput(_("Say why the scope goes back."), field_errors={"reason": [_("Required.")]})
    return run_transition(
        order,
        "return_scope",
        actor=actor,
        action="order.scope_returned",
        expected_version=expected_version,
        kwargs={"reason": reason.strip()},
    )


def approve_scope(
    order: DisclosureOrder, *, actor: Any, note: str = "", expected_version: int | None = None
) -> DisclosureOrder:
    """Four eyes: the approver neither verified nor scoped this order. On commit, the export
    of exactly this scope is enqueued."""
    return run_transition(
        order,
        "approve_scope",
        actor=actor,
        action="order.scope_approved",
        expected_version=expected_version,
        kwargs={"by": actor, "now": timezone.now()},
        data={"scope_sha256": scope_digest(order), "revision": order.scope_revision + 1},
        on_commit=_enqueue_export,
    )


def mark_export_succeeded(order: DisclosureOrder, *, package_id: str, package_sha256: str) -> DisclosureOrder:
    """Called by the package pipeline (the system acts)."""
    return run_transition(
        order,
        "export_succeeded",
        actor=None,
        action="order.package_ready",
        data={"package_id": package_id, "package_sha256": package_sha256},
    )


def mark_export_failed(order: DisclosureOrder, *, error: str) -> DisclosureOrder:
    return run_transition(
        order,
        "export_failed",
        actor=None,
        action="order.export_failed",
        kwargs={"error": error},
        data={"error": error},
    )


def retry_export(
    order: DisclosureOrder, *, actor: Any, expected_version: int | None = None
) -> DisclosureOrder:
    return run_transition(
        order,
        "retry_export",
        actor=actor,
        action="order.export_retried",
        expected_version=expected_version,
        on_commit=_enqueue_export,
    )


def return_package(
    order: DisclosureOrder, *, actor: Any, reason: str, expected_version: int | None = None
) -> DisclosureOrder:
    if not reason.strip():
        raise InvalidInput(_("Say why the package goes back."), field_errors={"reason": [_("Required.")]})
    return run_transition(
        order,
        "return_package",
        actor=actor,
        action="order.package_returned",
        expected_version=expected_version,
        kwargs={"reason": reason.strip()},
    )


release_hooks: list[Callable[[DisclosureOrder, Any], dict[str, Any]]] = []


def release(order: DisclosureOrder, *, actor: Any, expected_version: int | None = None) -> DisclosureOrder:
    """Four eyes: the releaser neither verified nor scoped the order. Release seals the
    package (the package pipeline registers the sealing step in ``release_hooks``)."""
    sealed: dict[str, Any] = {}

    def seal(locked: DisclosureOrder) -> None:
        for hook in release_hooks:
            sealed.update(hook(locked, actor))

    return run_transition(
        order,
        "release",
        actor=actor,
        action="order.released",
        expected_version=expected_version,
        kwargs={"by": actor, "now": timezone.now()},
        validate=seal,
        data=sealed,
    )


def record_delivery(
    order: DisclosureOrder,
    *,
    actor: Any,
    method: str,
    recipient: str,
    delivered_at: dt.datetime,
    proof: str,
    expected_version: int | None = None,
) -> DisclosureOrder:
    errors: dict[str, list[str]] = {}
    if method not in DeliveryMethod.values:
        errors["method"] = [_("Choose how the package was delivered.")]
    if not recipient.strip():
        errors["recipient"] = [_("Name who received it.")]
    if not proof.strip():
        errors["proof"] = [_("Describe the proof of receipt.")]
    if delivered_at > timezone.now():
        errors["delivered_at"] = [_("The delivery time is in the future.")]
    if order.released_at and delivered_at < order.released_at:
        errors["delivered_at"] = [_("The package cannot be delivered before it was released.")]
    if errors:
        raise InvalidInput(_("The delivery record is incomplete."), field_errors=errors)
    return run_transition(
        order,
        "record_delivery",
        actor=actor,
        action="order.delivered",
        expected_version=expected_version,
        kwargs={
            "delivery_method": method,
            "recipient": recipient.strip(),
            "delivered_at": delivered_at,
            "proof": proof.strip(),
        },
        data={"method": method, "delivered_at": audit_time(delivered_at)},
    )


def audit_time(moment: dt.datetime) -> str:
    from workflow.audit.canonical import format_time

    return format_time(moment)


def close(
    order: DisclosureOrder, *, actor: Any, outcome: str, expected_version: int | None = None
) -> DisclosureOrder:
    if outcome not in Outcome.values:
        raise InvalidInput(_("Choose the outcome."), field_errors={"outcome": [_("Required.")]})
    return run_transition(
        order,
        "close",
        actor=actor,
        action="order.closed",
        expected_version=expected_version,
        kwargs={"outcome": outcome, "now": timezone.now()},
        data={"outcome": outcome},
    )


def withdraw(
    order: DisclosureOrder, *, actor: Any, reason: str, expected_version: int | None = None
) -> DisclosureOrder:
    """The authority withdrew its order (possible until the package is released)."""
    if not reason.strip():
        raise InvalidInput(_("Say why the order was withdrawn."), field_errors={"reason": [_("Required.")]})
    return run_transition(
        order,
        "withdraw",
        actor=actor,
        action="order.withdrawn",
        expected_version=expected_version,
        kwargs={"reason": reason.strip()},
    )


def lift_non_disclosure(
    order: DisclosureOrder, *, actor: Any, expected_version: int | None = None
) -> DisclosureOrder:
    """The authority lifted its non-disclosure order: the customer may now be told."""
    if order.notice_rule == NoticeRule.NOTIFY:
        raise InvalidInput(_("This order never withheld notice."))

    def change(locked: DisclosureOrder) -> dict[str, Any]:
        locked.notice_lifted_at = timezone.now()
        return {"lifted_at": audit_time(locked.notice_lifted_at)}

    return run_update(
        order,
        actor=actor,
        action="order.notice_lifted",
        allowed_states=S.values,
        permission="workflow.deliver_order",
        change=change,
        expected_version=expected_version,
    )

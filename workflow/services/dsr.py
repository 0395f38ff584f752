"""Data-subject requests (DESIGN §1): one function per action, the customer's and the officer's.

Deadlines: one month from submission, extendable once, inside the first month, with a reason
the customer is told. Store data is changed only through ``workflow.customer_store`` (the data
map); the portal's record of what was done goes to the request's audit stream, with personal
values as keyed hashes only.
"""

import calendar
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import audit, customer_store
from workflow.choices import DataCategory
from workflow.errors import DomainError, InvalidInput, NotPermitted, WrongState
from workflow.models import (
    OPEN_REQUEST_STATES,
    DataSubjectRequest,
    RequestKind,
    RequestState,
)

from .customers import customer_actor, keyed_hash
from .notices import queue_notice
from .transitions import lock, run_transition

R = RequestState
K = RequestKind


def one_month_after(day: dt.date) -> dt.date:
    """The same day of the month ``DSR_RESPONSE_MONTHS`` later (the month's last day if it has none)."""
    months = day.month - 1 + settings.DSR_RESPONSE_MONTHS
    year, month = day.year + months // 12, months % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- What the customer does ---------------------------------------------------------------------


def _validate_details(customer_key: str, kind: str, details: Mapping[str, Any]) -> dict[str, Any]:
    if kind == K.RECTIFICATION:
        allowed = customer_store.rectifiable_fields(customer_key)
        corrections = []
        problems = []
        for line in details.get("corrections", []):
            field, value = str(line.get("field", "")), str(line.get("value", "")).strip()
            if field not in allowed:
                problems.append(_("“%(field)s” is not a field you can correct here.") % {"field": field})
            elif not value:
                problems.append(_("Write the correct value for every field you want changed."))
            elif len(value) > 300:
                problems.append(_("A corrected value may have at most 300 characters."))
            elif value != allowed[field]:
                corrections.append({"field": field, "value": value})
        if problems:
            raise InvalidInput(
                _("The correction could not be filed."), field_errors={"corrections": problems}
            )
        if not corrections:
            raise InvalidInput(_("Change at least one value to file a correction."))
        return {"corrections": corrections}
    if kind == K.ERASURE:
        categories = list(details.get("categories") or customer_store.erasable_categories(customer_key))
        unknown = [c for c in categories if c not in DataCategory.values]
        if unknown:
            raise InvalidInput(_("Unknown data category: %(names)s.") % {"names": ", ".join(unknown)})
        return {"categories": sorted(set(categories))}
    return {}


def file_request(
    *,
    customer_key: str,
    kind: str,
    language: str = "fa",
    details: Mapping[str, Any] | None = None,
    note: str = "",
) -> DataSubjectRequest:
    """A signed-in customer files a request about their own data (the key comes from their session,
    never from the form: a customer cannot name anyone else)."""
    actor = customer_actor(customer_key)
    try:
        if kind not in K.values:
            raise InvalidInput(_("Choose what you are asking for."))
        if len(note) > 2000:
            raise InvalidInput(_("The note may have at most 2000 characters."))
        clean = _validate_details(customer_key, kind, details or {})
        if DataSubjectRequest.objects.filter(
            customer_key=customer_key, kind=kind, state__in=OPEN_REQUEST_STATES
        ).exists():
            raise InvalidInput(_("You already have an open request of this kind; it is being handled."))
    except DomainError as err:
        raise refused("dsr.submitted", actor=actor, obj=None, err=err, attempted=str(kind)) from None
    now = timezone.now()
    with transaction.atomic():
        due = one_month_after(timezone.localdate(now))
        dsr = DataSubjectRequest.objects.create(
            customer_key=customer_key,
            kind=kind,
            language=language if language in ("fa", "en") else "fa",
            details=clean,
            customer_note=note.strip(),
            submitted_at=now,
            original_due_on=due,
            due_on=due,
        )
        audit.record(
            "dsr.submitted",
            actor=actor,
            obj=dsr,
            data={"kind": kind, "due_on": due.isoformat(), "customer": customer_key},
        )
    if kind == K.MARKETING_OBJECTION:
        # An objection to marketing takes effect at once: no review (DESIGN §1).
        return object_to_marketing(dsr)
    if kind == K.ACCESS:
        return run_transition(
            dsr, "start_automatically", actor=None, action="dsr.started", on_commit=_enqueue_access_package
        )
    return dsr


def object_to_marketing(dsr: DataSubjectRequest) -> DataSubjectRequest:
    """Switch every marketing-consent flag off in the store, then record the completion."""
    if dsr.state == R.SUBMITTED:
        dsr = run_transition(dsr, "start_automatically", actor=None, action="dsr.started")
    rows = customer_store.marketing_off(dsr.customer_key)
    outcome = [{"category": DataCategory.MARKETING_CONSENT, "result": "withdrawn", "rows": str(rows)}]
    return run_transition(
        dsr,
        "complete",
        actor=None,
        action="dsr.completed",
        kwargs={"outcome": outcome, "answer": "", "now": timezone.now()},
        data={"marketing_flags_off": rows},
        on_commit=_notify_decision,
    )


def requests_of(customer_key: str) -> Any:
    """The one gate for a customer's own requests: another customer's are never in it."""
    return DataSubjectRequest.objects.filter(customer_key=customer_key)


def own_request(customer_key: str, reference: str, **filters: Any) -> DataSubjectRequest | None:
    """The customer's own request ``reference``, or None. An attempt at someone else's request
    is audited (as a refusal in the system stream) and answered exactly like a missing one."""
    found = requests_of(customer_key).filter(reference=reference, **filters).first()
    if found is None and DataSubjectRequest.objects.filter(reference=reference).exists():
        audit.record_refusal(
            "dsr.access_denied",
            actor=customer_actor(customer_key),
            obj=None,
            reason="another customer's request",
            code="not_visible",
            attempted=reference,
        )
    return found


def record_view(dsr: DataSubjectRequest, *, actor: Any) -> None:
    """An officer opened a request: what a customer asked (possibly personal data) was seen."""
    with transaction.atomic():
        audit.record("dsr.viewed", actor=actor, obj=dsr, data={})


# --- What the officer does ---------------------------------------------------------------------


def refused(action: str, *, actor: Any, obj: Any, err: DomainError, attempted: str = "") -> DomainError:
    """Audit a refusal found before any transition (in a transaction of its own) and return it."""
    audit.record_refusal(
        f"{action}.refused", actor=actor, obj=obj, reason=err.message, code=err.code, attempted=attempted
    )
    return err


def _require_handler(actor: Any) -> None:
    if not (actor is not None and actor.is_active and actor.has_perm("workflow.handle_dsr")):
        raise NotPermitted(_("Your role does not allow handling customers' requests."))


def start(dsr: DataSubjectRequest, *, actor: Any, expected_version: int | None = None) -> DataSubjectRequest:
    return run_transition(
        dsr,
        "start",
        actor=actor,
        action="dsr.started",
        kwargs={"by": actor},
        expected_version=expected_version,
    )


def extend(
    dsr: DataSubjectRequest, *, actor: Any, reason: str, expected_version: int | None = None
) -> DataSubjectRequest:
    """One extension of one month, decided inside the first month; the customer is told why."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("Write the reason for the extension; the customer will read it."))
    until = one_month_after(dsr.original_due_on)

    def reset_reminder(locked: DataSubjectRequest) -> None:
        locked.reminded_on = None

    return run_transition(
        dsr,
        "extend",
        actor=actor,
        action="dsr.extended",
        kwargs={"reason": reason, "now": timezone.now(), "until": until},
        data={"due_on": until.isoformat()},
        expected_version=expected_version,
        validate=reset_reminder,
        on_commit=_notify_event("extended"),
    )


def reject(
    dsr: DataSubjectRequest, *, actor: Any, answer: str, expected_version: int | None = None
) -> DataSubjectRequest:
    answer = answer.strip()
    if not answer:
        raise InvalidInput(_("Write the answer to the customer: why the request is refused."))
    return run_transition(
        dsr,
        "reject",
        actor=actor,
        action="dsr.rejected",
        kwargs={"by": actor, "answer": answer, "now": timezone.now()},
        expected_version=expected_version,
        on_commit=_notify_decision,
    )


def apply_rectification(
    dsr: DataSubjectRequest,
    *,
    actor: Any,
    accepted: Iterable[str],
    answer: str = "",
    expected_version: int | None = None,
) -> DataSubjectRequest:
    """The officer accepts some corrections; each is applied through the data map.

    Before and after values go to the audit trail as keyed hashes: the trail is append-only and
    outlives erasure, so it must not hold the personal values themselves, yet a hash proves
    which value was replaced by which when the values are shown to an auditor.
    """
    accepted = set(accepted)
    refused_answer = answer.strip()
    corrections = dsr.details.get("corrections", [])
    try:
        _require_handler(actor)
        if dsr.kind != K.RECTIFICATION:
            raise WrongState(_("This is not a correction request."))
        if dsr.state != R.IN_PROGRESS:
            raise WrongState(_("Start handling the request first."))
        if any(line["field"] not in accepted for line in corrections) and not refused_answer:
            raise InvalidInput(_("Tell the customer why a correction was not made."))
    except DomainError as err:
        raise refused("dsr.rectified", actor=actor, obj=dsr, err=err) from None
    outcome: list[dict[str, str]] = []
    changes: list[dict[str, str]] = []
    for line in corrections:
        if line["field"] in accepted:
            before, after = customer_store.rectify(dsr.customer_key, line["field"], line["value"])
            outcome.append({"field": line["field"], "result": "rectified"})
            changes.append(
                {
                    "field": line["field"],
                    "before_hmac": keyed_hash("rectification", before),
                    "after_hmac": keyed_hash("rectification", after),
                }
            )
        else:
            outcome.append({"field": line["field"], "result": "refused", "reason": "officer"})
    name = "complete" if all(o["result"] == "rectified" for o in outcome) else "complete_partially"

    def forget_values(locked: DataSubjectRequest) -> None:
        # The requested values have been applied or refused: the request no longer keeps them.
        locked.details = {"corrections": [{"field": c["field"]} for c in corrections]}

    return run_transition(
        dsr,
        name,
        actor=actor,
        action="dsr.rectified",
        kwargs={"outcome": outcome, "answer": refused_answer, "now": timezone.now()},
        data={"changes": changes},
        expected_version=expected_version,
        validate=forget_values,
        on_commit=_notify_decision,
    )


# --- Access ------------------------------------------------------------------------------------------


def _enqueue_access_package(dsr: DataSubjectRequest) -> None:
    from workflow.tasks_customers import build_access_package

    build_access_package.delay(dsr.pk)


def record_access_package(
    dsr: DataSubjectRequest, *, package_id: str, package_sha256: str
) -> DataSubjectRequest:
    """The access package is built: the customer may download it."""

    def attach(locked: DataSubjectRequest) -> None:
        locked.package_id = package_id

    return run_transition(
        dsr,
        "complete",
        actor=None,
        action="dsr.access_package_ready",
        kwargs={
            "outcome": [{"result": "package", "package": package_id}],
            "answer": "",
            "now": timezone.now(),
        },
        data={"package_id": package_id, "sha256": package_sha256},
        validate=attach,
        on_commit=_notify_decision,
    )


def record_download(dsr: DataSubjectRequest, *, customer_key: str) -> None:
    """Every download of personal data is audited."""
    with transaction.atomic():
        audit.record(
            "dsr.package_downloaded",
            actor=customer_actor(customer_key),
            obj=lock(dsr),
            data={"package_id": dsr.package_id},
        )


def _notify_decision(dsr: DataSubjectRequest) -> None:
    queue_notice(dsr.customer_key, f"dsr:{dsr.reference}:{dsr.state}")


def _notify_event(event: str) -> Callable[[DataSubjectRequest], None]:
    def notify(dsr: DataSubjectRequest) -> None:
        queue_notice(dsr.customer_key, f"dsr:{dsr.reference}:{event}")

    return notify

"""Customer sign-in with one-time codes (DESIGN §5).

The store's registered e-mail and mobile are the customers' only official channels, so a code
sent there proves the customer is who they say. The answer never says whether an identifier is
registered: every request writes a code row and enqueues a send on commit, the same work either
way; the task sends nothing when no customer was found.
"""

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from workflow import audit, customer_store
from workflow.errors import DomainError, InvalidInput
from workflow.identity import normalise_identifier
from workflow.models import SignInCode


class TooManyRequests(DomainError):
    code = "rate_limited"
    http_status = 429


class CodeRefused(DomainError):
    code = "code_refused"
    http_status = 400


def keyed_hash(purpose: str, value: str) -> str:
    """An HMAC of ``value``: what the audit trail and the code table hold instead of the value."""
    key = hashlib.sha256(f"{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def customer_actor(customer_key: str) -> audit.Actor:
    return audit.Actor(f"customer:{customer_key}", "customer")


def classify_identifier(text: str) -> tuple[str, str]:
    """``("email"|"mobile", normalised value)``, or InvalidInput saying what is wrong."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("Enter the e-mail address or mobile number registered with the store."))
    kind = "email" if "@" in text else "mobile"
    try:
        return kind, normalise_identifier(kind, text)
    except InvalidInput as err:
        raise InvalidInput(
            _("Enter the e-mail address or mobile number registered with the store."),
            field_errors={"identifier": [err.message]},
        ) from err


@dataclass(frozen=True)
class PendingSignIn:
    """What the sign-in page keeps in the session between the two steps (no identifier in clear)."""

    identifier_hmac: str
    channel: str


def _window_count(**filters: object) -> int:
    return SignInCode.objects.filter(**filters).count()


def _check_rate_limits(identifier_hmac: str, ip_hmac: str, now: dt.datetime) -> None:
    limits = settings.CUSTOMER_SIGN_IN
    per_identifier = _window_count(
        identifier_hmac=identifier_hmac,
        created_at__gte=now - dt.timedelta(minutes=limits["identifier_window_minutes"]),
    )
    if per_identifier >= limits["codes_per_identifier"]:
        minutes = limits["identifier_window_minutes"]
        raise TooManyRequests(
            ngettext(
                "Too many codes were requested for this address. Wait %(minutes)d minute and try again.",
                "Too many codes were requested for this address. Wait %(minutes)d minutes and try again.",
                minutes,
            )
            % {"minutes": minutes}
        )
    per_ip = _window_count(
        ip_hmac=ip_hmac, created_at__gte=now - dt.timedelta(minutes=limits["ip_window_minutes"])
    )
    if per_ip >= limits["codes_per_ip"]:
        raise TooManyRequests(_("Too many codes were requested from your network. Try again later."))


def request_sign_in_code(identifier: str, *, ip: str) -> PendingSignIn:
    """Issue a code for ``identifier`` if it is registered, and answer the same way if it is not."""
    kind, value = classify_identifier(identifier)
    identifier_hmac = keyed_hash("customer-identifier", f"{kind}:{value}")
    ip_hmac = keyed_hash("client-ip", ip or "")
    now = timezone.now()
    try:
        with transaction.atomic():
            _check_rate_limits(identifier_hmac, ip_hmac, now)
    except TooManyRequests as err:
        audit.record_refusal(
            "customer.code_refused",
            actor=None,
            obj=None,
            reason=err.message,
            code=err.code,
            attempted=identifier_hmac,
        )
        raise
    customer_key = customer_store.find_customer(kind, value) or ""
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        # A new code supersedes the earlier ones: only the latest may be used.
        SignInCode.objects.filter(identifier_hmac=identifier_hmac, used_at=None, burned_at=None).update(
            burned_at=now
        )
        row = SignInCode.objects.create(
            identifier_hmac=identifier_hmac,
            ip_hmac=ip_hmac,
            customer_key=customer_key,
            channel="email" if kind == "email" else "sms",
            code_hash=keyed_hash("sign-in-code", code),
            created_at=now,
            expires_at=now + dt.timedelta(minutes=settings.CUSTOMER_SIGN_IN["code_minutes"]),
        )
        audit.record(
            "customer.code_requested",
            actor=customer_actor(customer_key) if customer_key else None,
            data={"identifier_hmac": identifier_hmac, "ip_hmac": ip_hmac, "code_id": row.pk},
        )
        transaction.on_commit(lambda: _enqueue_code(row.pk, code, value))
    return PendingSignIn(identifier_hmac=identifier_hmac, channel=row.channel)


def _enqueue_code(code_id: int, code: str, destination: str) -> None:
    from workflow.tasks_customers import send_sign_in_code

    send_sign_in_code.delay(code_id, code, destination)


def deliver_sign_in_code(code_id: int, code: str, destination: str) -> bool:
    """Send the code to the registered address or number it was asked for (the task's body).

    ``destination`` is the normalised identifier that matched the store's registered value; it
    must hash to the row's identifier and the code to the row's code, so a forged or stale
    message sends nothing. False when there is no one to send to or the code is no longer live.
    """
    from workflow.notify import Message, send

    row = SignInCode.objects.filter(pk=code_id, used_at=None, burned_at=None).first()
    if row is None or not row.customer_key or row.expires_at <= timezone.now():
        return False
    kind = "email" if row.channel == "email" else "mobile"
    if not hmac.compare_digest(row.code_hash, keyed_hash("sign-in-code", code)):
        return False
    if not hmac.compare_digest(
        row.identifier_hmac, keyed_hash("customer-identifier", f"{kind}:{destination}")
    ):
        return False
    to = destination
    minutes = settings.CUSTOMER_SIGN_IN["code_minutes"]
    body = (
        f"کد ورود شما به درگاه حریم خصوصی {settings.STORE_NAME_FA}: {code}\n"
        f"این کد تا {minutes} دقیقه معتبر است. آن را به کسی ندهید.\n\n"
        f"Your {settings.STORE_NAME} privacy portal sign-in code: {code}\n"
        f"It is valid for {minutes} minutes. Do not share it."
    )
    send(Message(channel=row.channel, to=to, subject=f"{settings.STORE_NAME}: {code}", body=body))
    return True


def verify_sign_in_code(pending: PendingSignIn, code: str, *, ip: str) -> str:
    """The customer key, once ``code`` matches the latest live code; every failure is audited."""
    code = "".join(ch for ch in (code or "") if not ch.isspace())
    from workflow.calendar import ascii_digits

    code = ascii_digits(code)
    now = timezone.now()
    refusal: CodeRefused | None = None
    customer_key = ""
    with transaction.atomic():
        row = (
            SignInCode.objects.select_for_update()
            .filter(identifier_hmac=pending.identifier_hmac)
            .order_by("-created_at", "-pk")
            .first()
        )
        if row is None:
            refusal = CodeRefused(_("This code is wrong or has expired. Request a new code."))
        elif row.used_at is not None:
            refusal = CodeRefused(_("This code has already been used. Request a new code."))
        elif row.burned_at is not None:
            refusal = CodeRefused(_("This code can no longer be used. Request a new code."))
        elif row.expires_at <= now:
            refusal = CodeRefused(_("This code has expired. Request a new code."))
        else:
            row.attempts += 1
            matches = bool(row.customer_key) and hmac.compare_digest(
                row.code_hash, keyed_hash("sign-in-code", code)
            )
            if matches:
                row.used_at = now
                customer_key = row.customer_key
            elif row.attempts >= settings.CUSTOMER_SIGN_IN["attempts_per_code"]:
                row.burned_at = now
                refusal = CodeRefused(_("Too many wrong codes. Request a new code."))
            else:
                refusal = CodeRefused(_("This code is wrong. Check it and try again."))
            row.save(update_fields=["attempts", "used_at", "burned_at"])
        data = {"identifier_hmac": pending.identifier_hmac, "ip_hmac": keyed_hash("client-ip", ip or "")}
        if refusal is None:
            audit.record("customer.signed_in", actor=customer_actor(customer_key), data=data)
        else:
            audit.record("customer.sign_in_failed", actor=None, data={**data, "reason": refusal.message})
    if refusal is not None:
        raise refusal
    return customer_key

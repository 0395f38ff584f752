"""A signed-in customer is a customer key in the session, not a portal user account.

The session is rotated at sign-in (no fixation), lasts ``CUSTOMER_SESSION_SECONDS`` and holds
no identifier in clear. Every customer page reads the key through ``customer_required``; no
page takes a customer key from the URL or a form.
"""

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from workflow.services.customers import PendingSignIn

CUSTOMER_KEY = "customer_key"
SIGNED_IN_AT = "customer_signed_in_at"
PENDING = "customer_pending_sign_in"


def signed_in_customer(request: HttpRequest) -> str | None:
    key = request.session.get(CUSTOMER_KEY)
    since = request.session.get(SIGNED_IN_AT, 0)
    if not key or time.time() - since > settings.CUSTOMER_SESSION_SECONDS:
        return None
    return str(key)


def sign_in(request: HttpRequest, customer_key: str) -> None:
    request.session.cycle_key()
    request.session.pop(PENDING, None)
    request.session[CUSTOMER_KEY] = customer_key
    request.session[SIGNED_IN_AT] = time.time()


def sign_out(request: HttpRequest) -> None:
    request.session.flush()


def remember_pending(request: HttpRequest, pending: PendingSignIn) -> None:
    request.session[PENDING] = {"identifier_hmac": pending.identifier_hmac, "channel": pending.channel}


def pending_sign_in(request: HttpRequest) -> PendingSignIn | None:
    stored = request.session.get(PENDING)
    return PendingSignIn(**stored) if stored else None


def customer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The gate of every customer page: a signed-in customer, else the sign-in page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        customer_key = signed_in_customer(request)
        if customer_key is None:
            return redirect("customer:sign_in")
        request.customer_key = customer_key  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped

"""The portal's URLs plus Django's bare "hello" view, the baseline of ``bench/portal.py``, and the
same "hello" behind the staff sign-in gate (for information: the floor of every staff page)."""

from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django_otp import DEVICE_ID_SESSION_KEY

from requests_portal.accounts import staff_required
from requests_portal.accounts.totp import device_of


def verified_session(user: Any) -> str:
    """A session key as the staff sign-in leaves it (password and TOTP passed), stored in the
    database; the portal's cached_db sessions read it from there on first use."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "requests_portal.accounts.staff_state.StaffBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    device = device_of(user)
    assert device is not None
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.create()
    return session.session_key or ""


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


@staff_required()
def staff_hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


urlpatterns = [
    path("bench/hello/", hello),
    path("bench/staff-hello/", staff_hello),
    path("", include("requests_portal.urls")),
]

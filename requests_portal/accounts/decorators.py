"""The gate every staff page passes: signed in, second factor verified, role allowed.

A session that passed only the password is sent to the code step, never shown a staff page;
a signed-in user whose role is not allowed gets 403.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject, empty

from requests_portal.roles import STAFF_ROLES

View = Callable[..., HttpResponse]


def _unwrapped(user: Any) -> Any:
    """The User behind the auth and OTP middlewares' lazy wrappers."""
    while isinstance(user, SimpleLazyObject):
        if user._wrapped is empty:  # type: ignore[attr-defined]
            user._setup()  # type: ignore[attr-defined]
        user = user._wrapped  # type: ignore[attr-defined]
    return user


def staff_refusal(request: HttpRequest, roles: tuple[str, ...]) -> HttpResponse | None:
    """None when the request may go on; otherwise the response that refuses it."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    # ``role`` reads the user's groups; fetch them once for the whole request, not per use (the
    # gate's cached user arrives with them).
    real = _unwrapped(user)
    if "groups" not in getattr(real, "_prefetched_objects_cache", {}):
        prefetch_related_objects([real], "groups")
    if not user.is_active:
        raise PermissionDenied
    role = getattr(user, "role", None)
    if role not in STAFF_ROLES:
        raise PermissionDenied
    # OTPMiddleware gives the user is_verified(): true only after the TOTP step in this session.
    if not cast(Any, user).is_verified():
        return redirect(f"{reverse('accounts:verify')}?{urlencode({'next': request.get_full_path()})}")
    if roles and role not in roles:
        raise PermissionDenied
    return None


def _settle_user(request: HttpRequest) -> None:
    """Once the gate has passed, ``request.user`` is the user itself rather than the two lazy
    wrappers the middlewares put around it (each attribute read through them costs a call)."""
    request.user = _unwrapped(request.user)


def staff_required(*roles: str) -> Callable[[View], View]:
    """``@staff_required(Role.LEGAL_OFFICER, Role.APPROVER)``; no roles means any staff role."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refusal = staff_refusal(request, roles)
            if refusal is not None:
                return refusal
            _settle_user(request)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


class StaffRequiredMixin:
    """The class-based form of ``staff_required``: set ``staff_roles`` on the view."""

    staff_roles: tuple[str, ...] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = staff_refusal(request, tuple(self.staff_roles))
        if refusal is not None:
            return refusal
        _settle_user(request)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

"""Staff sign-in: password (django-axes counts the failures), then the TOTP code."""

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from requests_portal.roles import STAFF_ROLES, Role
from workflow.permissions import can_see_cases

from .forms import CodeForm, SignInForm
from .totp import device_of


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


class SignInView(LoginView):
    template_name = "registration/login.html"
    form_class = SignInForm
    redirect_authenticated_user = False

    def get_success_url(self) -> str:
        target = super().get_success_url()
        if getattr(self.request.user, "role", None) in STAFF_ROLES:
            # The password is only half: staff go on to the code step before any page.
            return f"{reverse('accounts:verify')}?{urlencode({'next': target})}"
        return target


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """The second factor: the code of the user's authenticator, checked by django-otp."""
    target = _safe_next(request, reverse("home"))
    if request.user.is_verified():  # type: ignore[union-attr]
        return redirect(target)
    has_device = device_of(request.user) is not None
    form = CodeForm(request.user, request, data=request.POST or None)
    if request.method == "POST" and has_device and form.is_valid():
        otp_login(request, request.user.otp_device)  # type: ignore[union-attr]
        return redirect(target)
    return render(
        request, "registration/verify.html", {"form": form, "has_device": has_device, "next": target}
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


def home(request: HttpRequest) -> HttpResponse:
    """Where "/" leads: each role to its own desk."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    if can_see_cases(request.user):
        return redirect("officer:dashboard")
    role = getattr(request.user, "role", None)
    if role == Role.AUDITOR:
        return redirect("auditor:index")
    context: dict[str, Any] = {"role": role}
    return render(request, "registration/home.html", context)

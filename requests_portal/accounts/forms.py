"""The two steps of the staff sign-in: the password, then the authenticator's code."""

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from django_otp.forms import OTPTokenForm


class SignInForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("That username and password do not match. Both are case-sensitive."),
        "inactive": _("This account is disabled."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Username")
        self.fields["password"].label = _("Password")
        self.fields["username"].widget.attrs.update({"class": "form-control", "autocomplete": "username"})
        self.fields["password"].widget.attrs.update(
            {"class": "form-control", "autocomplete": "current-password"}
        )


class CodeForm(OTPTokenForm):
    """django-otp's token form with our wording; the user's only device is chosen for them."""

    otp_error_messages = dict(
        OTPTokenForm.otp_error_messages,
        token_required=_("Enter the six-digit code from your authenticator app."),
        invalid_token=_(
            "That code is not right, or it was already used. Wait for the next code and try again."
        ),
        verification_not_allowed=_("Too many wrong codes: wait a minute before trying again."),
    )

    def __init__(self, user: Any, request: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(user, request, *args, **kwargs)
        # Chosen for them below (_chosen_device): staff hold one authenticator.
        self.fields["otp_device"].required = False
        self.fields["otp_device"].widget = forms.HiddenInput()
        self.fields["otp_token"].label = _("Code")
        self.fields["otp_token"].widget.attrs.update(
            {
                "class": "form-control form-control-lg text-center font-monospace",
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "dir": "ltr",
            }
        )

    def _chosen_device(self, user: Any) -> Any:
        # Staff hold one authenticator; choosing it for them keeps the step to one field.
        from .totp import device_of

        return device_of(user)

    def clean_otp_token(self) -> str:
        # Persian keyboards type ۱۲۳; the authenticator shows 123.
        from workflow.calendar import ascii_digits

        return ascii_digits((self.cleaned_data.get("otp_token") or "").strip())

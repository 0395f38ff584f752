"""Staff sign-in: password, then TOTP; lockout; the demo's code printer."""

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from requests_portal.accounts import ensure_totp_device
from requests_portal.accounts.totp import current_code, device_of
from tests.factories import sign_in_staff

PASSWORD = "correct horse battery staple"


def sign_in_with_password(client: Any, username: str, password: str = PASSWORD) -> Any:
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_a_staff_member_signs_in_with_password_then_code(client: Any, officer: Any) -> None:
    ensure_totp_device(officer)
    response = sign_in_with_password(client, "officer")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:verify"))
    code = current_code(device_of(officer))
    response = client.post(
        reverse("accounts:verify"), {"otp_token": code, "next": reverse("officer:dashboard")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("officer:dashboard")
    assert client.get(reverse("officer:dashboard")).status_code == 200


def test_a_session_that_passed_only_the_password_is_sent_to_the_code_step(client: Any, officer: Any) -> None:
    ensure_totp_device(officer)
    sign_in_with_password(client, "officer")
    response = client.get(reverse("officer:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:verify"))


def test_a_wrong_code_is_refused_with_a_message_next_to_the_field(client: Any, officer: Any) -> None:
    ensure_totp_device(officer)
    sign_in_with_password(client, "officer")
    right = current_code(device_of(officer))
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post(reverse("accounts:verify"), {"otp_token": wrong})
    assert response.status_code == 200
    assert "code-errors" in response.content.decode()
    assert client.get(reverse("officer:dashboard")).status_code == 302


def test_persian_digits_in_the_code_are_accepted(client: Any, officer: Any) -> None:
    from workflow.calendar import persian_digits

    ensure_totp_device(officer)
    sign_in_with_password(client, "officer")
    code = persian_digits(current_code(device_of(officer)))
    response = client.post(reverse("accounts:verify"), {"otp_token": code})
    assert response.status_code == 302


def test_a_wrong_password_is_refused_in_the_users_language(client: Any, officer: Any) -> None:
    response = client.post(
        reverse("accounts:login"), {"username": "officer", "password": "nope"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "do not match" in response.content.decode()


@pytest.fixture
def axes_on(settings: Any) -> None:
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3


def test_repeated_failures_lock_the_account_even_against_the_right_password(
    client: Any, officer: Any, axes_on: None
) -> None:
    for _ in range(3):
        sign_in_with_password(client, "officer", "wrong password")
    response = sign_in_with_password(client, "officer")
    assert response.status_code == 429
    assert b"Sign-in locked" in response.content or "قفل".encode() in response.content
    assert "_auth_user_id" not in client.session


def test_ensure_totp_device_is_idempotent(officer: Any) -> None:
    first = ensure_totp_device(officer)
    assert ensure_totp_device(officer) == first
    assert len(first) == 32


def test_demo_totp_prints_the_current_code(officer: Any) -> None:
    ensure_totp_device(officer)
    out = io.StringIO()
    call_command("demo_totp", "officer", stdout=out)
    assert out.getvalue().strip() == current_code(device_of(officer))


@pytest.mark.parametrize("persona", ["auditor", "customer_user", "outsider"])
def test_a_user_outside_the_legal_desk_cannot_open_the_dashboard(
    client: Any, persona: str, request: Any
) -> None:
    user = request.getfixturevalue(persona)
    if user.is_portal_staff:
        sign_in_staff(client, user)
    else:
        client.force_login(user)
    assert client.get(reverse("officer:dashboard")).status_code == 403


def test_an_anonymous_visitor_is_sent_to_sign_in(client: Any, db: None) -> None:
    response = client.get(reverse("officer:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_pages_are_right_to_left_in_persian_and_left_to_right_in_english(client: Any, db: None) -> None:
    fa = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert 'dir="rtl"' in fa
    assert "bootstrap.rtl.min.css" in fa
    client.cookies.clear()
    en = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'dir="ltr"' in en

"""The officer pages and the sign-in gate are served from the cache: never stale, never anyone
else's. Each test first shows that the page really came from the cache (``X-Portal-Cache``),
then changes something and asserts the very next page shows it."""

import datetime as dt
import pickle
import re
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from requests_portal.accounts.totp import device_of
from tests.factories import make_order, sign_in_staff
from workflow.choices import VerificationItem
from workflow.models import DisclosureState
from workflow.services import disclosure as svc

S = DisclosureState
DASHBOARD = "/officer/"


def cached(client: Any, url: str, **headers: Any) -> str:
    """The page as a second view serves it — from the cache, which is asserted."""
    if "csrftoken" not in client.cookies:
        client.get(url, **headers)  # a browser's first page sets its CSRF cookie: never stored
    assert client.get(url, **headers)["X-Portal-Cache"] == "miss"
    response = client.get(url, **headers)
    assert response.status_code == 200
    assert response["X-Portal-Cache"] == "hit"
    return response.content.decode()


def my_tasks(html: str) -> str:
    return html[html.index('id="my-tasks"') : html.index('id="queue"')]


@pytest.fixture
def officer_client(client: Any, officer: Any) -> Any:
    sign_in_staff(client, officer)
    return client


# --- Rendered pages -------------------------------------------------------------------------


def test_a_state_change_shows_on_the_next_dashboard(officer_client: Any, officer: Any) -> None:
    order = make_order(S.RECEIVED, officer=officer)
    html = cached(officer_client, DASHBOARD)
    assert "state-received" in html and "state-verifying" not in html
    svc.start_verification(order, actor=officer)
    response = officer_client.get(DASHBOARD)
    assert "state-verifying" in response.content.decode()
    assert response["X-Portal-Cache"] == "miss"


def test_a_new_order_shows_on_the_next_dashboard(officer_client: Any, officer: Any) -> None:
    first = make_order(S.RECEIVED, officer=officer)
    assert first.reference in cached(officer_client, DASHBOARD)
    second = make_order(S.RECEIVED, officer=officer)
    assert second.reference in officer_client.get(DASHBOARD).content.decode()


def test_a_recorded_check_shows_on_the_next_order_page(officer_client: Any, officer: Any) -> None:
    order = make_order(S.VERIFYING, officer=officer)
    url = reverse("officer:order", args=[order.reference])
    assert "Legal basis for the bench" not in cached(officer_client, url, HTTP_ACCEPT_LANGUAGE="en")
    svc.record_check(
        order,
        actor=officer,
        item=VerificationItem.LEGAL_BASIS_CITED,
        passed=True,
        note="Legal basis for the bench",
        expected_version=order.version,
    )
    assert "Legal basis for the bench" in officer_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_a_change_to_one_order_keeps_the_other_order_pages_cached(officer_client: Any, officer: Any) -> None:
    changed, untouched = make_order(S.RECEIVED, officer=officer), make_order(S.RECEIVED, officer=officer)
    cached(officer_client, reverse("officer:order", args=[untouched.reference]))
    svc.start_verification(changed, actor=officer)
    response = officer_client.get(reverse("officer:order", args=[untouched.reference]))
    assert response["X-Portal-Cache"] == "hit"


def test_another_officers_tasks_are_never_shown(client: Any, officer: Any, second_officer: Any) -> None:
    mine = make_order(S.VERIFYING, officer=officer)  # taken up by the first officer only
    sign_in_staff(client, officer)
    assert mine.reference in my_tasks(cached(client, DASHBOARD))
    other = Client()
    sign_in_staff(other, second_officer)
    html = other.get(DASHBOARD).content.decode()
    assert mine.reference in html  # in the queue, which everyone sees
    assert mine.reference not in my_tasks(html)
    assert mine.reference not in my_tasks(cached(other, DASHBOARD))


def test_the_language_switch_shows_the_other_language(officer_client: Any) -> None:
    assert 'lang="fa"' in cached(officer_client, DASHBOARD, HTTP_ACCEPT_LANGUAGE="fa")
    officer_client.post(reverse("set_language"), {"language": "en", "next": DASHBOARD})
    html = officer_client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert 'lang="en"' in html and "My tasks" in html


def test_the_due_date_marks_follow_the_calendar(client: Any, officer: Any) -> None:
    """An order due today is marked overdue from midnight, though nothing changed."""
    evening = timezone.localtime().replace(hour=23, minute=58)
    with time_machine.travel(evening, tick=False):
        sign_in_staff(client, officer)
        order = make_order(S.RECEIVED, officer=officer)
        type(order).objects.filter(pk=order.pk).update(due_on=timezone.localdate())
        assert "is-overdue" not in cached(client, DASHBOARD)
    with time_machine.travel(evening + dt.timedelta(minutes=4), tick=False):
        assert "is-overdue" in client.get(DASHBOARD).content.decode()


def test_each_browser_gets_forms_it_can_post(officer: Any) -> None:
    """A page's forms carry a CSRF token for the browser that asked: another browser of the
    same officer is never served them."""
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    sign_in_staff(first, officer)
    sign_in_staff(second, officer)
    cached(first, DASHBOARD)
    html = cached(second, DASHBOARD)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token is not None
    response = second.post(
        reverse("set_language"), {"language": "en", "next": DASHBOARD, "csrfmiddlewaretoken": token[1]}
    )
    assert response.status_code == 302


def test_a_message_after_an_action_is_shown_not_a_cached_page(officer_client: Any, officer: Any) -> None:
    order = make_order(S.RECEIVED, officer=officer)
    url = reverse("officer:order", args=[order.reference])
    cached(officer_client, url, HTTP_ACCEPT_LANGUAGE="en")
    response = officer_client.post(
        reverse("officer:act", args=[order.reference, "start_verification"]),
        {"version": order.version},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert 'class="alert alert-success' in response.content.decode()


def test_an_exporting_order_page_is_never_stored(officer_client: Any, officer: Any, approver: Any) -> None:
    """Its progress moves without an audited change."""
    order = make_order(S.EXPORTING, officer=officer, approver=approver)
    url = reverse("officer:order", args=[order.reference])
    officer_client.get(url)
    assert officer_client.get(url)["X-Portal-Cache"] == "miss"


def test_outsiders_get_no_cached_page(client: Any, officer: Any, auditor: Any, outsider: Any) -> None:
    order = make_order(S.RECEIVED, officer=officer)
    url = reverse("officer:order", args=[order.reference])
    sign_in_staff(client, officer)
    cached(client, url)
    for stranger in (auditor, outsider):
        other = Client()
        sign_in_staff(other, stranger)
        assert other.get(url).status_code == 403
        assert other.get(DASHBOARD).status_code == 403
    anonymous = Client()
    assert anonymous.get(url).status_code == 302


# --- The sign-in gate -----------------------------------------------------------------------


def test_a_deactivated_officer_is_refused_on_the_next_request(officer_client: Any, officer: Any) -> None:
    cached(officer_client, DASHBOARD)
    officer.is_active = False
    officer.save()
    response = officer_client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_role_change_takes_effect_on_the_next_request(officer_client: Any, officer: Any) -> None:
    cached(officer_client, DASHBOARD)
    officer.groups.set([Group.objects.get(name="auditor")])
    assert officer_client.get(DASHBOARD).status_code == 403


def test_a_removed_authenticator_leaves_the_session_unverified(officer_client: Any, officer: Any) -> None:
    cached(officer_client, DASHBOARD)
    device = device_of(officer)
    assert device is not None
    device.delete()
    response = officer_client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:verify"))


def test_a_password_change_signs_every_session_out(officer_client: Any, officer: Any) -> None:
    cached(officer_client, DASHBOARD)
    officer.set_password("a brand new passphrase")
    officer.save()
    assert officer_client.get(DASHBOARD)["Location"].startswith(reverse("accounts:login"))


def test_a_session_that_passed_only_the_password_opens_no_staff_page(
    officer_client: Any, officer: Any
) -> None:
    cached(officer_client, DASHBOARD)  # the officer's state is in the cache, devices included
    password_only = Client()
    password_only.force_login(officer)
    response = password_only.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:verify"))


def test_a_permission_taken_from_a_role_shows_on_the_next_page(officer_client: Any) -> None:
    register = reverse("officer:intake")
    assert register in cached(officer_client, DASHBOARD)
    Group.objects.get(name="legal_officer").permissions.remove(
        Permission.objects.get(codename="register_order", content_type__app_label="workflow")
    )
    assert register not in officer_client.get(DASHBOARD).content.decode()


def test_a_renamed_officer_sees_their_new_name(officer_client: Any, officer: Any) -> None:
    cached(officer_client, DASHBOARD)
    officer.first_name, officer.last_name = "Parisa", "Rahimi"
    officer.save()
    assert "Parisa Rahimi" in officer_client.get(DASHBOARD).content.decode()


def test_a_deactivation_outside_the_orm_is_refused_within_the_stated_bound(
    officer_client: Any, officer: Any
) -> None:
    cached(officer_client, DASHBOARD)
    type(officer).objects.filter(pk=officer.pk).update(is_active=False)  # no signal: raw UPDATE
    later = timezone.now() + timezone.timedelta(seconds=settings.PORTAL_STAFF_CACHE_SECONDS + 1)
    with time_machine.travel(later):
        assert officer_client.get(DASHBOARD).status_code == 302


def test_the_cache_never_holds_an_authenticators_secret(officer_client: Any, officer: Any) -> None:
    from django.core.cache import cache

    from requests_portal.accounts import staff_state

    cached(officer_client, DASHBOARD)
    device = device_of(officer)
    assert device is not None
    entry = cache.get(staff_state.entry_key(officer.pk))
    assert entry is not None  # the gate's state is cached…
    assert device.key.encode() not in pickle.dumps(entry)  # …without the seed


def test_a_repeated_view_reads_nothing_from_the_database(
    officer_client: Any, officer: Any, django_assert_num_queries: Any
) -> None:
    make_order(S.RECEIVED, officer=officer)
    cached(officer_client, DASHBOARD)
    with django_assert_num_queries(0):
        assert officer_client.get(DASHBOARD)["X-Portal-Cache"] == "hit"

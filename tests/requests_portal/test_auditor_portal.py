"""The auditors' portal: read-only, auditor-only, references never customer data."""

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.audit_support import record_history
from tests.factories import make_order, sign_in_staff
from workflow.audit import record
from workflow.models import AuditEvent, DisclosureState

S = DisclosureState


def page_text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def order(officer: Any, approver: Any) -> Any:
    return make_order(S.AWAITING_APPROVAL, officer=officer, approver=approver)


@pytest.fixture
def auditor_client(client: Any, auditor: Any) -> Any:
    sign_in_staff(client, auditor)
    return client


def auditor_urls(reference: str) -> list[str]:
    return [
        reverse("auditor:index"),
        reverse("auditor:trail"),
        reverse("auditor:access"),
        reverse("auditor:refusals"),
        reverse("auditor:order", args=[reference]),
        reverse("auditor:transparency"),
        reverse("auditor:transparency_csv"),
    ]


def test_an_anonymous_visitor_is_sent_to_sign_in_from_every_auditor_page(client: Any, order: Any) -> None:
    for url in auditor_urls(order.reference):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["outsider", "officer", "approver", "administrator", "customer_user"])
def test_no_one_but_an_auditor_may_open_an_auditor_page(
    client: Any, order: Any, persona: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    if persona in ("outsider", "customer_user"):
        client.force_login(user)
    else:
        sign_in_staff(client, user)
    for url in auditor_urls(order.reference):
        assert client.get(url).status_code == 403, url


def test_an_auditor_without_the_second_factor_is_sent_to_the_code_step(
    client: Any, auditor: Any, order: Any
) -> None:
    client.force_login(auditor)
    response = client.get(reverse("auditor:trail"))
    assert response.status_code == 302
    assert reverse("accounts:verify") in response["Location"]


def test_an_auditor_cannot_change_anything(auditor_client: Any, order: Any) -> None:
    before = AuditEvent.objects.count()
    for url in auditor_urls(order.reference):
        assert auditor_client.post(url, {"anything": "x"}).status_code == 405, url
    assert AuditEvent.objects.count() == before


def test_an_auditor_is_refused_every_case_page(auditor_client: Any, order: Any) -> None:
    for url in [
        reverse("officer:dashboard"),
        reverse("officer:order", args=[order.reference]),
        reverse("officer:document", args=[order.reference]),
        reverse("officer:package", args=[order.reference]),
        reverse("officer:preservation_list"),
    ]:
        assert auditor_client.get(url).status_code == 403, url
    response = auditor_client.post(
        reverse("officer:act", args=[order.reference, "approve_scope"]), {"version": 1}
    )
    assert response.status_code == 403
    assert DisclosureState(type(order).objects.get(pk=order.pk).state) == S.AWAITING_APPROVAL


def test_the_order_timeline_lists_every_event_of_the_order_and_no_customer_identifier(
    auditor_client: Any, order: Any
) -> None:
    text = page_text(
        auditor_client.get(reverse("auditor:order", args=[order.reference]), HTTP_ACCEPT_LANGUAGE="en")
    )
    stream = f"disclosureorder:{order.reference}"
    assert text.count("<tr>") - 1 == AuditEvent.objects.filter(stream=stream).count()
    for action in ("order.received", "order.verified", "order.scope_submitted"):
        assert action in text
    for identifier in order.identifiers.values_list("value", flat=True):
        assert identifier not in text  # the order's identifiers (national ID, mobile) never reach an auditor


def test_an_unknown_order_timeline_is_404(auditor_client: Any, db: None) -> None:
    assert auditor_client.get(reverse("auditor:order", args=["DO-NOPE"])).status_code == 404


def test_the_trail_filters_by_action_order_and_dates(auditor_client: Any, order: Any, officer: Any) -> None:
    record_history({"system": 2})
    response = auditor_client.get(
        reverse("auditor:trail"), {"action": "order.scope", "order": order.reference}
    )
    text = page_text(response)
    assert "order.scope_submitted" in text
    assert "order.received" not in text
    assert "test.step_1" not in text
    response = auditor_client.get(
        reverse("auditor:trail"), {"first_day": "1300-01-01", "last_day": "1300-01-02"}
    )
    assert "order.received" not in page_text(response)
    response = auditor_client.get(reverse("auditor:trail"), {"actor": officer.username})
    assert "order.received" in page_text(response)
    assert "test.step_1" not in page_text(response)


def test_a_date_that_is_not_a_date_is_named_in_the_filter(auditor_client: Any, db: None) -> None:
    response = auditor_client.get(
        reverse("auditor:trail"), {"first_day": "1403-13-01"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "a Jalali year has 12 months" in page_text(response)


def test_the_trail_filters_by_authority(auditor_client: Any, officer: Any, approver: Any) -> None:
    from tests.factories import AuthorityFactory

    first, second = AuthorityFactory(), AuthorityFactory()
    mine = make_order(S.RECEIVED, officer=officer, authority=first)
    other = make_order(S.RECEIVED, officer=officer, authority=second)
    text = page_text(auditor_client.get(reverse("auditor:trail"), {"authority": first.pk}))
    assert mine.reference in text
    assert other.reference not in text


def test_personal_data_access_lists_views_and_downloads_only(
    auditor_client: Any, order: Any, officer: Any
) -> None:
    record("package.downloaded", actor=officer, obj=order, data={"package_sha256": "ab" * 32})
    record("customer.viewed", actor=officer, stream="system", obj="customer:shop:42", data={})
    text = page_text(auditor_client.get(reverse("auditor:access")))
    assert "package.downloaded" in text
    assert "customer.viewed" in text
    assert "order.received" not in text


def test_refusals_and_failed_sign_ins_are_listed(auditor_client: Any, order: Any, client: Any) -> None:
    record("order.approve_scope.refused", actor=None, obj=order, data={"code": "four_eyes"})
    record("auth.login_failed", actor=None, data={"username_hmac": "cd" * 32})
    text = page_text(auditor_client.get(reverse("auditor:refusals")))
    assert "order.approve_scope.refused" in text
    assert "auth.login_failed" in text
    assert "order.received" not in text


def test_the_integrity_panel_shows_the_last_verification_and_checkpoint(
    auditor_client: Any, order: Any, signing: Any
) -> None:
    empty = page_text(auditor_client.get(reverse("auditor:index"), HTTP_ACCEPT_LANGUAGE="en"))
    assert "No verification has been recorded yet" in empty
    assert "No checkpoint has been signed yet" in empty
    call_command("checkpoint_audit", stdout=StringIO())
    call_command("verify_audit", stdout=StringIO())
    text = page_text(auditor_client.get(reverse("auditor:index"), HTTP_ACCEPT_LANGUAGE="en"))
    assert "Intact" in text
    assert "checkpoints/000000000001.json" in text
    assert "not yet published" not in text

"""Customer pages: sign-in with a code, the ledger, requests and the access package download."""

import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from tests.customers_fixtures import sms_codes
from tests.factories import make_order
from workflow.choices import NoticeRule
from workflow.models import AuditEvent, DataSubjectRequest, DisclosureState
from workflow.services import dsr as svc
from workflow.services import erasure

S = DisclosureState


def without_tokens(html):
    """The page with its CSRF tokens blanked (they differ on every response)."""
    return re.sub(r"[A-Za-z0-9]{64}", "TOKEN", html)


def sign_in(client, identifier, run_on_commit):
    with run_on_commit():
        response = client.post(reverse("customer:sign_in"), {"identifier": identifier})
    assert response.status_code == 302
    code = sms_codes()[-1]
    return client.post(reverse("customer:enter_code"), {"code": code})


@pytest.fixture
def maryam(client, db, fake_store, run_on_commit):
    response = sign_in(client, "09121234567", run_on_commit)
    assert response.status_code == 302
    assert response["Location"] == reverse("customer:ledger")
    return client


def test_the_sign_in_answer_is_the_same_for_registered_and_unknown_numbers(
    client, db, fake_store, run_on_commit
):
    with run_on_commit():
        known = client.post(reverse("customer:sign_in"), {"identifier": "09121234567"})
        page_known = client.get(reverse("customer:enter_code")).content.decode()
    client.cookies.clear()
    with run_on_commit():
        unknown = client.post(reverse("customer:sign_in"), {"identifier": "09120000000"})
        page_unknown = client.get(reverse("customer:enter_code")).content.decode()
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert without_tokens(page_known) == without_tokens(page_unknown)


def test_a_wrong_code_is_answered_on_the_page_and_audited(client, db, fake_store, run_on_commit):
    with run_on_commit():
        client.post(reverse("customer:sign_in"), {"identifier": "09121234567"})
    response = client.post(reverse("customer:enter_code"), {"code": "12345x"})
    assert response.status_code == 400
    assert "wrong" in response.content.decode() or "نادرست" in response.content.decode()
    assert AuditEvent.objects.filter(action="customer.sign_in_failed").exists()
    assert client.get(reverse("customer:ledger")).status_code == 302


def test_a_flood_of_code_requests_gets_a_clear_429(client, db, fake_store, run_on_commit):
    for _ in range(3):
        with run_on_commit():
            client.post(reverse("customer:sign_in"), {"identifier": "09121234567"})
    response = client.post(reverse("customer:sign_in"), {"identifier": "09121234567"})
    assert response.status_code == 429


def test_the_ledger_needs_a_signed_in_customer(client, db):
    response = client.get(reverse("customer:ledger"))
    assert response.status_code == 302
    assert response["Location"] == reverse("customer:sign_in")


def test_the_ledger_page_shows_released_orders_in_persian(maryam, officer, approver):
    order = make_order(S.CLOSED, officer=officer, approver=approver)
    page = maryam.get(reverse("customer:ledger"), HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert order.authority.name_fa in page
    assert order.reference not in page  # the portal's internal reference is not the customer's business


def test_the_embargoed_order_leaves_no_trace_on_the_ledger_page(maryam, officer, approver):
    empty = maryam.get(reverse("customer:ledger")).content.decode()
    make_order(S.CLOSED, officer=officer, approver=approver, notice_rule=NoticeRule.WITHHOLD_UNTIL_LIFTED)
    withheld = maryam.get(reverse("customer:ledger")).content.decode()
    assert without_tokens(withheld) == without_tokens(empty)


def test_a_customer_never_sees_another_customers_ledger(
    client, db, fake_store, run_on_commit, officer, approver
):
    order = make_order(S.CLOSED, officer=officer, approver=approver)  # about store:1
    sign_in(client, "09351112233", run_on_commit)  # store:2
    page = client.get(reverse("customer:ledger")).content.decode()
    assert order.authority.name_fa not in page
    assert order.authority.name_en not in page


def test_an_objection_filed_on_the_page_stops_marketing_at_once(maryam, fake_store, run_on_commit):
    with run_on_commit():
        response = maryam.post(reverse("customer:new_request"), {"kind": "marketing_objection"})
    assert response.status_code == 302
    assert fake_store.customers["store:1"].marketing == {"email": False, "sms": False}
    request = DataSubjectRequest.objects.get()
    assert request.state == "completed"
    assert request.customer_key == "store:1"


def test_a_customer_cannot_open_or_download_another_customers_request(maryam, fake_store):
    other = svc.file_request(customer_key="store:2", kind="access")
    name = default_storage.save("access/other.pdf", ContentFile(b"%PDF-1.7 reza"))
    DataSubjectRequest.objects.filter(pk=other.pk).update(package_file=name)
    assert maryam.get(reverse("customer:request", args=[other.reference])).status_code == 404
    assert maryam.get(reverse("customer:package", args=[other.reference])).status_code == 404
    assert not AuditEvent.objects.filter(action="dsr.package_downloaded").exists()
    denials = AuditEvent.objects.filter(action="dsr.access_denied", actor="customer:store:1")
    assert denials.count() == 2
    # A reference that does not exist is answered the same way.
    assert maryam.get(reverse("customer:request", args=["DSR-0000-0000"])).status_code == 404


def test_a_customer_downloads_their_own_access_package_and_it_is_audited(maryam, fake_store):
    own = svc.file_request(customer_key="store:1", kind="access")
    name = default_storage.save("access/own.pdf", ContentFile(b"%PDF-1.7 maryam"))
    DataSubjectRequest.objects.filter(pk=own.pk).update(package_file=name, package_id="PKG-X")
    response = maryam.get(reverse("customer:package", args=[own.reference]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.7 maryam"
    assert AuditEvent.objects.filter(action="dsr.package_downloaded", actor="customer:store:1").exists()


def test_an_erasure_request_with_a_bad_category_is_refused_with_the_reason(maryam):
    response = maryam.post(reverse("customer:new_request"), {"kind": "erasure", "categories": ["passwords"]})
    assert response.status_code == 200  # the form itself refuses an unknown choice
    assert not DataSubjectRequest.objects.exists()


def test_signing_out_ends_the_customer_session(maryam):
    maryam.post(reverse("customer:sign_out"))
    assert maryam.get(reverse("customer:ledger")).status_code == 302


def test_the_ledger_api_never_shows_an_embargoed_order_and_answers_the_same(maryam, officer, approver):
    shown = make_order(S.CLOSED, officer=officer, approver=approver)
    before = maryam.get(reverse("customer:ledger_json") + "?lang=en").json()
    withheld = make_order(
        S.CLOSED, officer=officer, approver=approver, notice_rule=NoticeRule.WITHHOLD_UNTIL_LIFTED
    )
    after = maryam.get(reverse("customer:ledger_json") + "?lang=en").json()
    assert after == before
    assert [d["authority"] for d in after["disclosures"]] == [shown.authority.name_en]
    from workflow.services import disclosure

    disclosure.lift_non_disclosure(withheld, actor=officer)
    lifted = maryam.get(reverse("customer:ledger_json") + "?lang=en").json()
    assert len(lifted["disclosures"]) == 2


def test_the_ledger_api_needs_a_signed_in_customer(client, db):
    assert client.get(reverse("customer:ledger_json")).status_code == 302


def test_a_partial_erasure_page_cites_each_reason_in_persian(maryam, fake_store, officer):
    request = svc.start(svc.file_request(customer_key="store:1", kind="erasure"), actor=officer)
    erasure.carry_out_erasure(request, actor=officer)
    page = maryam.get(reverse("customer:request", args=[request.reference]), HTTP_ACCEPT_LANGUAGE="fa")
    text = page.content.decode()
    assert "بخشی انجام‌شده" in text
    assert "قانون فروشگاه را به نگهداری آن ملزم می‌کند" in text  # invoices, with the basis cited
    assert "Direct Taxation Act" in text


def test_a_deferred_erasure_page_never_names_the_preservation_order(
    maryam, fake_store, officer, approver, authority
):
    from tests.customers_fixtures import place_hold

    hold = place_hold(officer=officer, approver=approver, authority=authority, customer_keys=["store:1"])
    request = erasure.carry_out_erasure(
        svc.start(svc.file_request(customer_key="store:1", kind="erasure"), actor=officer), actor=officer
    )
    text = maryam.get(
        reverse("customer:request", args=[request.reference]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "legal obligation" in text
    assert "preserv" not in text.lower()
    assert hold.reference not in text
    assert hold.authority_reference not in text


def test_a_customer_session_ends_after_its_time(maryam, settings):
    import datetime as dt

    import time_machine

    with time_machine.travel(
        dt.datetime.now(tz=dt.UTC) + dt.timedelta(seconds=settings.CUSTOMER_SESSION_SECONDS + 5)
    ):
        response = maryam.get(reverse("customer:ledger"))
    assert response.status_code == 302
    assert response["Location"] == reverse("customer:sign_in")


def test_the_ledger_page_reads_in_english_when_asked(maryam, officer, approver):
    order = make_order(S.CLOSED, officer=officer, approver=approver)
    page = maryam.get(reverse("customer:ledger"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert order.authority.name_en in page
    assert "Court order" in page
    assert 'dir="ltr"' in page

"""The customer side against the demo store, through its real data map (no fakes)."""

import hashlib
import io

import pikepdf
import pytest
from django.core.files.storage import default_storage

from tests.workflow.store_helpers import seed
from workflow import customer_store
from workflow.keys import ensure_demo_signing_material
from workflow.models import AuditEvent, DataSubjectRequest, RequestState
from workflow.services import dsr as svc
from workflow.services import erasure
from workflow.services.access import build_access_package
from workflow.services.customers import request_sign_in_code

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def store(tmp_path, settings):
    seeded = seed(tmp_path, customers=12)
    settings.STORE_DATAMAPS = [str(seeded.datamap_path)]
    return seeded


def test_a_registered_mobile_written_any_way_finds_its_customer(db, store):
    key = customer_store.find_customer("mobile", "+989121234567")
    assert key is not None
    assert key.startswith("store:")
    assert customer_store.find_customer("mobile", "+989129999999") is None


def test_the_registered_channels_come_from_the_customers_profile(db, store):
    key = customer_store.find_customer("email", "maryam.rezaei@example.ir")
    assert customer_store.contacts(key) == {"email": "maryam.rezaei@example.ir", "mobile": "+989121234567"}


def test_the_correctable_fields_are_the_ones_the_data_map_names(db, store):
    key = customer_store.find_customer("email", "maryam.rezaei@example.ir")
    fields = customer_store.rectifiable_fields(key)
    assert "customers.first_name" in fields
    assert "customers.password_hash" not in fields


def test_erasure_keeps_what_the_data_map_retains_by_law(db, store):
    key = customer_store.find_customer("email", "maryam.rezaei@example.ir")
    plan = {
        line["category"]: line for line in erasure.erasure_plan(key, customer_store.erasable_categories(key))
    }
    assert plan["invoice"]["result"] == "refused"
    assert "tax" in plan["invoice"]["basis"]
    assert plan["review"]["result"] == "erase"


def test_a_sign_in_code_request_for_a_store_customer_is_recorded_against_them(db, store):
    request_sign_in_code("۰۹۱۲ ۱۲۳ ۴۵۶۷", ip="203.0.113.9")
    key = customer_store.find_customer("mobile", "+989121234567")
    assert AuditEvent.objects.filter(action="customer.code_requested", actor=f"customer:{key}").exists()


def test_an_access_request_builds_a_signed_package_of_the_customers_own_data(db, store):
    ensure_demo_signing_material()
    key = customer_store.find_customer("email", "maryam.rezaei@example.ir")
    request = svc.file_request(customer_key=key, kind="access", language="fa")
    package_id = build_access_package(request.pk)
    request = DataSubjectRequest.objects.get(pk=request.pk)
    assert request.state == RequestState.COMPLETED
    assert request.package_id == package_id
    with default_storage.open(request.package_file, "rb") as stored:
        pdf = stored.read()
    assert hashlib.sha256(pdf).hexdigest() == request.package_sha256
    with pikepdf.open(io.BytesIO(pdf)) as document:
        attached = set(document.attachments.keys())
    assert "manifest.json" in attached
    assert not any("credential" in name or "third_party" in name for name in attached)
    # A redelivered job builds nothing more.
    assert build_access_package(request.pk) == package_id


def rows_of(key, category):
    import datetime as dt

    from workflow.extraction import iter_rows

    return list(iter_rows(key, category, dt.date(1970, 1, 1), dt.date(2100, 1, 1)))


def test_an_objection_switches_the_consent_flags_off_in_the_store(db, store):
    key = customer_store.find_customer("mobile", "+989121234567")
    other = customer_store.find_customer("email", "sara.ahmadi@example.com")
    assert any(row["opted_in"] for row in rows_of(key, "marketing_consent"))
    request = svc.file_request(customer_key=key, kind="marketing_objection")
    assert request.state == RequestState.COMPLETED
    assert not any(row["opted_in"] for row in rows_of(key, "marketing_consent"))
    assert any(row["opted_in"] for row in rows_of(other, "marketing_consent"))


def test_an_erasure_under_hold_touches_nothing_in_the_store_until_the_hold_ends(
    db, store, officer, approver, authority
):
    from tests.customers_fixtures import place_hold
    from workflow.services import preservation

    key = customer_store.find_customer("mobile", "+989121234567")
    reviews_before = rows_of(key, "review")
    assert reviews_before
    hold = place_hold(officer=officer, approver=approver, authority=authority, customer_keys=[key])
    request = svc.start(svc.file_request(customer_key=key, kind="erasure"), actor=officer)
    request = erasure.carry_out_erasure(request, actor=officer)
    assert request.deferred_by_hold_at is not None
    assert rows_of(key, "review") == reviews_before
    preservation.release_hold(hold, actor=approver, reason="Lifted by the court.")
    assert erasure.resume_deferred_erasures() == [request.reference]
    assert rows_of(key, "address") == []
    reviews = [row for row in rows_of(key, "review") if row["_table"] == "reviews"]
    assert reviews  # anonymised, not deleted
    assert all(row["body"] == "" for row in reviews)
    assert rows_of(key, "invoice")  # kept for tax law
    request = DataSubjectRequest.objects.get(pk=request.pk)
    assert request.state == RequestState.PARTIALLY_COMPLETED
    assert {line["category"] for line in request.refusals()} == {"invoice", "order"}


def test_a_correction_is_applied_in_the_store_and_hashed_in_the_audit_trail(db, store, officer):
    from workflow.services.customers import keyed_hash

    key = customer_store.find_customer("mobile", "+989121234567")
    request = svc.file_request(
        customer_key=key,
        kind="rectification",
        details={"corrections": [{"field": "customers.last_name", "value": "رضائی"}]},
    )
    svc.apply_rectification(
        svc.start(request, actor=officer), actor=officer, accepted=["customers.last_name"]
    )
    assert customer_store.rectifiable_fields(key)["customers.last_name"] == "رضائی"
    change = AuditEvent.objects.get(action="dsr.rectified").data["changes"][0]
    assert change["before_hmac"] == keyed_hash("rectification", "رضایی")
    assert change["after_hmac"] == keyed_hash("rectification", "رضائی")


def test_the_answer_to_an_erasure_reaches_the_customer_whose_contacts_it_erased(
    db, store, officer, run_on_commit, settings
):
    from django.core import mail

    from workflow.models import CustomerNotice

    key = customer_store.find_customer("mobile", "+989121234567")
    request = svc.start(svc.file_request(customer_key=key, kind="erasure"), actor=officer)
    with run_on_commit():
        erasure.carry_out_erasure(request, actor=officer)
    assert customer_store.contacts(key) == {}  # the profile's contacts are gone
    assert [m.to for m in mail.outbox] == [["maryam.rezaei@example.ir"]]
    notice = CustomerNotice.objects.get(customer_key=key)
    assert notice.last_known_address == ""  # the address kept for the send is gone too

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

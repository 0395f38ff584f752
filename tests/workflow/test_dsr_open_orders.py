"""Erasure keeps what an open order may need, even before the order is scoped: the identifiers
an order names are matched against the store (through the data map), as scoping would."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from tests.customers_fixtures import sms_codes
from tests.factories import make_order
from tests.workflow.store_helpers import seed
from workflow import customer_store
from workflow.choices import DataCategory
from workflow.models import DataSubjectRequest, RefusalReason, RequestState
from workflow.services import disclosure, erasure, preservation
from workflow.services import dsr as svc

pytestmark = pytest.mark.usefixtures("english")

ASKED = [DataCategory.IDENTITY, DataCategory.CONTACT, DataCategory.ADDRESS]
PERSIAN_NATIONAL_ID = "۰۰۱۲۳۴۵۶۷۹"  # persona 1 of the demo store, as a clerk may type it


@pytest.fixture
def store(tmp_path, settings):
    seeded = seed(tmp_path, customers=12)
    settings.STORE_DATAMAPS = [str(seeded.datamap_path)]
    return seeded


@pytest.fixture
def maryam(store):
    return customer_store.find_customer("mobile", "+989121234567")


def erase(key, officer):
    request = svc.start(svc.file_request(customer_key=key, kind="erasure"), actor=officer)
    return DataSubjectRequest.objects.get(pk=erasure.carry_out_erasure(request, actor=officer).pk)


def rows_of(key, category):
    from workflow.extraction import iter_rows

    return list(iter_rows(key, category, dt.date(1970, 1, 1), dt.date(2100, 1, 1)))


def received_order(officer, authority):
    return make_order(
        "received",
        officer=officer,
        authority=authority,
        identifiers=[("national_id", PERSIAN_NATIONAL_ID)],
        categories=ASKED,
    )


def test_an_erasure_keeps_what_a_just_received_order_naming_the_customer_asks_for(
    db, store, maryam, officer, authority, client, eager_celery, run_on_commit
):
    received_order(officer, authority)
    identity_before = rows_of(maryam, DataCategory.IDENTITY)
    with run_on_commit():
        request = erase(maryam, officer)
    assert request.state == RequestState.PARTIALLY_COMPLETED
    refused = {line["category"]: line["reason"] for line in request.refusals()}
    for category in ASKED:
        assert refused[category] == RefusalReason.OPEN_ORDER
    assert rows_of(maryam, DataCategory.IDENTITY) == identity_before
    assert rows_of(maryam, DataCategory.ADDRESS)
    # What the order does not ask for is erased.
    assert {line["category"] for line in request.outcome if line["result"] == "erased"} >= {"review"}
    # The customer is told a legal obligation applies, never that an order exists.
    assert "partially completed" in mail.outbox[-1].body
    with run_on_commit():
        client.post(reverse("customer:sign_in"), {"identifier": "09121234567"})
    client.post(reverse("customer:enter_code"), {"code": sms_codes()[-1]})
    page = client.get(reverse("customer:request", args=[request.reference])).content.decode()
    assert page.count("a legal obligation requires the store to keep it for now") >= len(ASKED)
    assert "authority" not in page.lower()
    assert "court" not in page.lower()


@pytest.mark.parametrize("ending", ["withdrawn", "rejected"])
def test_once_the_order_is_withdrawn_or_rejected_a_new_erasure_goes_through(
    db, store, maryam, officer, approver, authority, ending
):
    order = received_order(officer, authority)
    assert {line["category"] for line in erase(maryam, officer).refusals()} >= set(ASKED)
    if ending == "withdrawn":
        disclosure.withdraw(order, actor=officer, reason="The authority withdrew its order.")
    else:
        disclosure.start_verification(order, actor=officer)
        disclosure.reject(order, actor=officer, code="overbroad", letter="The demand exceeds the order.")
    request = erase(maryam, officer)
    erased = {line["category"] for line in request.outcome if line["result"] == "erased"}
    assert set(ASKED) <= erased
    assert rows_of(maryam, DataCategory.ADDRESS) == []


def test_an_order_naming_someone_else_does_not_keep_this_customers_data(
    db, store, maryam, officer, authority
):
    make_order(
        "received",
        officer=officer,
        authority=authority,
        identifiers=[("email", "sara.ahmadi@example.com")],
        categories=ASKED,
    )
    request = erase(maryam, officer)
    erased = {line["category"] for line in request.outcome if line["result"] == "erased"}
    assert set(ASKED) <= erased


def test_an_unverified_preservation_order_naming_the_customer_keeps_everything(
    db, store, maryam, officer, authority
):
    preservation.register_preservation(
        actor=officer,
        authority=authority,
        authority_reference="PRES-1",
        issued_on=dt.date.today() - dt.timedelta(days=2),
        received_on=dt.date.today(),
        identifiers=[("national_id", PERSIAN_NATIONAL_ID)],
        hold_expires_on=dt.date.today() + dt.timedelta(days=30),
    )
    request = erase(maryam, officer)
    assert [line for line in request.outcome if line["result"] == "erased"] == []
    assert {line["reason"] for line in request.refusals()} <= {
        RefusalReason.OPEN_ORDER,
        RefusalReason.RETENTION,
    }

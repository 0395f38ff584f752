"""Legal holds: an active preservation order defers erasure; when the hold ends, erasure resumes."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from tests.customers_fixtures import place_hold
from workflow.models import AuditEvent, DataSubjectRequest, RequestState
from workflow.services import dsr as svc
from workflow.services import erasure, preservation

pytestmark = pytest.mark.usefixtures("english")

R = RequestState


def erasure_in_progress(officer):
    return svc.start(svc.file_request(customer_key="store:1", kind="erasure"), actor=officer)


def test_an_erasure_under_hold_is_deferred_and_nothing_is_erased(
    db, fake_store, officer, approver, authority, run_on_commit
):
    place_hold(officer=officer, approver=approver, authority=authority, customer_keys=["store:1"])
    with run_on_commit():
        request = erasure.carry_out_erasure(erasure_in_progress(officer), actor=officer)
    assert request.state == R.IN_PROGRESS
    assert request.deferred_by_hold_at is not None
    assert fake_store.erased == []
    assert AuditEvent.objects.filter(
        action="dsr.erasure_deferred", object_ref=f"datasubjectrequest:{request.reference}"
    ).exists()
    # The customer is told a legal obligation applies, never that a preservation order exists.
    body = mail.outbox[-1].body
    assert "legal obligation" in body
    assert "preserv" not in body.lower()


def test_a_deferred_erasure_resumes_when_the_hold_is_released(db, fake_store, officer, approver, authority):
    hold = place_hold(officer=officer, approver=approver, authority=authority, customer_keys=["store:1"])
    request = erasure.carry_out_erasure(erasure_in_progress(officer), actor=officer)
    assert erasure.resume_deferred_erasures() == []  # still held
    preservation.release_hold(hold, actor=approver, reason="The court lifted its order.")
    assert erasure.resume_deferred_erasures() == [request.reference]
    request = DataSubjectRequest.objects.get(pk=request.pk)
    assert request.state == R.PARTIALLY_COMPLETED  # invoices stay for tax law
    assert ("store:1", "review") in fake_store.erased
    assert AuditEvent.objects.filter(action="dsr.erasure_resumed", actor="system").exists()
    assert erasure.resume_deferred_erasures() == []


def test_a_deferred_erasure_resumes_when_the_hold_expires(db, fake_store, officer, approver, authority):
    place_hold(officer=officer, approver=approver, authority=authority, customer_keys=["store:1"], days=10)
    request = erasure.carry_out_erasure(erasure_in_progress(officer), actor=officer)
    with time_machine.travel(timezone.now() + dt.timedelta(days=12)):
        preservation.expire_holds()
        assert erasure.resume_deferred_erasures() == [request.reference]
    assert DataSubjectRequest.objects.get(pk=request.pk).deferred_by_hold_at is None


def test_a_hold_on_one_customer_does_not_defer_anothers_erasure(db, fake_store, officer, approver, authority):
    place_hold(officer=officer, approver=approver, authority=authority, customer_keys=["store:2"])
    request = erasure.carry_out_erasure(erasure_in_progress(officer), actor=officer)
    assert request.state == R.PARTIALLY_COMPLETED
    assert all(key == "store:1" for key, _category in fake_store.erased)

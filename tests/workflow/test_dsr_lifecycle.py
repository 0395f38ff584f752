"""Data-subject requests: filing, deadlines, one extension, objection, rectification, erasure."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from tests.factories import make_order
from workflow.errors import ConditionsUnmet, InvalidInput, NotPermitted, WrongState
from workflow.models import AuditEvent, CustomerNotice, DataSubjectRequest, DisclosureState, RequestState
from workflow.services import deadlines, erasure
from workflow.services import dsr as svc
from workflow.services.customers import keyed_hash

pytestmark = pytest.mark.usefixtures("english")

R = RequestState


def file(kind, customer_key="store:1", **details):
    return svc.file_request(customer_key=customer_key, kind=kind, details=details)


def test_a_request_is_due_one_month_after_it_is_filed(db, fake_store):
    with time_machine.travel(dt.datetime(2025, 1, 31, 9, tzinfo=dt.UTC)):
        request = file("erasure")
    assert request.state == R.SUBMITTED
    assert request.due_on == dt.date(2025, 2, 28)


def test_an_objection_switches_marketing_off_at_once_without_review(db, fake_store, run_on_commit):
    with run_on_commit():
        request = file("marketing_objection")
    assert request.state == R.COMPLETED
    assert fake_store.customers["store:1"].marketing == {"email": False, "sms": False}
    assert fake_store.customers["store:2"].marketing == {"email": True, "sms": True}
    assert CustomerNotice.objects.get(customer_key="store:1").sent_at is not None
    assert mail.outbox[0].to == ["maryam@example.ir"]


def test_a_second_open_request_of_the_same_kind_is_refused(db, fake_store):
    file("erasure")
    with pytest.raises(InvalidInput, match="already have an open request"):
        file("erasure")


def test_a_correction_of_a_field_the_map_does_not_allow_is_refused(db, fake_store):
    with pytest.raises(InvalidInput) as refused:
        file("rectification", corrections=[{"field": "invoice.total", "value": "0"}])
    assert "not a field you can correct" in str(refused.value)
    assert not DataSubjectRequest.objects.exists()


def test_an_officer_applies_a_correction_and_the_audit_trail_keeps_only_hashes(db, fake_store, officer):
    request = file("rectification", corrections=[{"field": "identity.full_name", "value": "مریم رضائی‌فر"}])
    request = svc.start(request, actor=officer)
    request = svc.apply_rectification(request, actor=officer, accepted=["identity.full_name"])
    assert request.state == R.COMPLETED
    assert fake_store.customers["store:1"].fields["identity.full_name"] == "مریم رضائی‌فر"
    event = AuditEvent.objects.get(action="dsr.rectified")
    change = event.data["changes"][0]
    assert change["before_hmac"] == keyed_hash("rectification", "مریم رضایی")
    assert change["after_hmac"] == keyed_hash("rectification", "مریم رضائی‌فر")
    assert "مریم" not in event.data_json
    # The request itself no longer keeps the value once it was applied.
    assert "value" not in DataSubjectRequest.objects.get(pk=request.pk).details["corrections"][0]


def test_a_refused_correction_needs_an_answer_to_the_customer(db, fake_store, officer):
    request = svc.start(
        file("rectification", corrections=[{"field": "identity.full_name", "value": "X"}]), actor=officer
    )
    with pytest.raises(InvalidInput, match="why a correction was not made"):
        svc.apply_rectification(request, actor=officer, accepted=[])
    request = svc.apply_rectification(
        request, actor=officer, accepted=[], answer="The name matches your ID card."
    )
    assert request.state == R.PARTIALLY_COMPLETED
    assert fake_store.rectified == []


def test_someone_without_the_role_cannot_handle_a_request(db, fake_store, auditor):
    request = file("erasure")
    with pytest.raises(NotPermitted):
        svc.start(request, actor=auditor)
    assert AuditEvent.objects.filter(action="dsr.started.refused").exists()


def test_an_erasure_spares_invoices_and_data_an_open_order_needs_citing_each_reason(
    db, fake_store, officer, approver
):
    make_order(DisclosureState.RELEASED, officer=officer, approver=approver)  # scopes store:1 identity+order
    request = svc.start(file("erasure"), actor=officer)
    request = erasure.carry_out_erasure(request, actor=officer)
    assert request.state == R.PARTIALLY_COMPLETED
    reasons = {line["category"]: line["reason"] for line in request.refusals()}
    assert reasons == {"invoice": "retention", "identity": "open_order", "order": "open_order"}
    erased = {category for _key, category in fake_store.erased}
    assert erased == {"address", "contact", "marketing_consent", "network_activity", "review"}
    assert "invoice" in fake_store.customers["store:1"].categories


def test_an_erasure_with_nothing_kept_completes(db, fake_store, officer, settings):
    settings.STORE_RETENTION_RULES = {}
    request = erasure.carry_out_erasure(svc.start(file("erasure"), actor=officer), actor=officer)
    assert request.state == R.COMPLETED
    assert fake_store.customers["store:1"].categories == {}


def test_a_request_can_be_extended_once_inside_the_first_month_with_a_reason(db, fake_store, officer):
    request = svc.start(file("erasure"), actor=officer)
    with pytest.raises(InvalidInput, match="reason"):
        svc.extend(request, actor=officer, reason=" ")
    request = svc.extend(request, actor=officer, reason="Your data spans three systems.")
    assert request.due_on > request.original_due_on
    assert request.state == R.IN_PROGRESS
    with pytest.raises(ConditionsUnmet) as refused:
        svc.extend(request, actor=officer, reason="Again")
    assert "once" in str(refused.value)


def test_an_extension_after_the_first_month_is_refused(db, fake_store, officer):
    request = svc.start(file("erasure"), actor=officer)
    with (
        time_machine.travel(timezone.now() + dt.timedelta(days=40)),
        pytest.raises(ConditionsUnmet) as refused,
    ):
        svc.extend(request, actor=officer, reason="Late")
    assert "first month" in str(refused.value)


def test_the_desk_is_reminded_once_before_a_request_falls_due(db, fake_store, officer, settings):
    officer.email = "desk@store.example"
    officer.save()
    request = file("erasure")
    assert deadlines.remind_due_requests() == []
    with time_machine.travel(timezone.now() + dt.timedelta(days=25)):
        assert deadlines.remind_due_requests() == [request.reference]
        assert deadlines.remind_due_requests() == []
    assert mail.outbox[0].to == ["desk@store.example"]
    assert request.reference in mail.outbox[0].body


def test_a_rejection_tells_the_customer_why(db, fake_store, officer):
    request = file("erasure")
    with pytest.raises(InvalidInput):
        svc.reject(request, actor=officer, answer="")
    request = svc.reject(request, actor=officer, answer="We could not confirm the account.")
    assert request.state == R.REJECTED
    assert request.answer.startswith("We could not")


def test_every_refused_request_is_audited(db, fake_store, officer, auditor):
    file("erasure")
    with pytest.raises(InvalidInput):
        file("erasure")  # a second open erasure
    with pytest.raises(InvalidInput):
        file("rectification", corrections=[{"field": "invoice.total", "value": "0"}])
    assert AuditEvent.objects.filter(action="dsr.submitted.refused", actor="customer:store:1").count() == 2
    request = DataSubjectRequest.objects.get(kind="erasure")
    with pytest.raises(NotPermitted):
        erasure.carry_out_erasure(request, actor=auditor)
    with pytest.raises(WrongState):
        erasure.carry_out_erasure(request, actor=officer)  # not started yet
    assert AuditEvent.objects.filter(action="dsr.erased.refused").count() == 2
    assert fake_store.erased == []

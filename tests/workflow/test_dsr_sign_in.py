"""Customer sign-in with one-time codes: single use, short-lived, rate-limited, no enumeration."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from tests.customers_fixtures import sms_codes
from workflow.errors import InvalidInput
from workflow.models import AuditEvent, SignInCode
from workflow.notify.sms import LocmemSms
from workflow.services.customers import (
    CodeRefused,
    TooManyRequests,
    request_sign_in_code,
    verify_sign_in_code,
)

pytestmark = pytest.mark.usefixtures("english")

IP = "203.0.113.7"


def sign_in_code_for(identifier, run_on_commit):
    with run_on_commit():
        pending = request_sign_in_code(identifier, ip=IP)
    return pending


def test_a_customer_receives_a_code_by_sms_and_signs_in_with_it(db, fake_store, run_on_commit):
    pending = sign_in_code_for("۰۹۱۲۱۲۳۴۵۶۷", run_on_commit)
    assert LocmemSms.outbox[0]["to"] == "+989121234567"
    [code] = sms_codes()
    assert verify_sign_in_code(pending, code, ip=IP) == "store:1"


def test_a_code_sent_by_email_goes_to_the_registered_address_only(db, fake_store, run_on_commit):
    pending = sign_in_code_for("Maryam@Example.IR", run_on_commit)
    assert [m.to for m in mail.outbox] == [["maryam@example.ir"]]
    code = mail.outbox[0].subject.split()[-1]
    assert verify_sign_in_code(pending, code, ip=IP) == "store:1"


def test_an_unregistered_identifier_gets_the_same_answer_and_no_message(db, fake_store, run_on_commit):
    known = sign_in_code_for("09121234567", run_on_commit)
    unknown = sign_in_code_for("09129999999", run_on_commit)
    assert type(known) is type(unknown)
    assert known.channel == unknown.channel == "sms"
    assert len(LocmemSms.outbox) == 1  # only the registered customer got a message
    # Both wrote a code row, so rate limits and timing treat them alike.
    assert SignInCode.objects.count() == 2
    with pytest.raises(CodeRefused, match="wrong"):
        verify_sign_in_code(unknown, "123456", ip=IP)


def test_a_code_cannot_be_used_twice(db, fake_store, run_on_commit):
    pending = sign_in_code_for("09121234567", run_on_commit)
    [code] = sms_codes()
    verify_sign_in_code(pending, code, ip=IP)
    with pytest.raises(CodeRefused, match="already been used"):
        verify_sign_in_code(pending, code, ip=IP)


def test_an_expired_code_is_refused(db, fake_store, run_on_commit):
    pending = sign_in_code_for("09121234567", run_on_commit)
    [code] = sms_codes()
    with (
        time_machine.travel(timezone.now() + dt.timedelta(minutes=11)),
        pytest.raises(CodeRefused, match="expired"),
    ):
        verify_sign_in_code(pending, code, ip=IP)


def test_five_wrong_codes_burn_the_code_even_the_right_one_afterwards(db, fake_store, run_on_commit):
    pending = sign_in_code_for("09121234567", run_on_commit)
    [code] = sms_codes()
    wrong = "000000" if code != "000000" else "111111"
    for _attempt in range(4):
        with pytest.raises(CodeRefused, match="wrong"):
            verify_sign_in_code(pending, wrong, ip=IP)
    with pytest.raises(CodeRefused, match="Too many wrong codes"):
        verify_sign_in_code(pending, wrong, ip=IP)
    with pytest.raises(CodeRefused, match="no longer be used"):
        verify_sign_in_code(pending, code, ip=IP)
    assert AuditEvent.objects.filter(action="customer.sign_in_failed").count() == 6


def test_a_new_code_supersedes_the_previous_one(db, fake_store, run_on_commit):
    pending = sign_in_code_for("09121234567", run_on_commit)
    first = sms_codes()[0]
    sign_in_code_for("09121234567", run_on_commit)
    second = sms_codes()[1]
    if first != second:
        with pytest.raises(CodeRefused):
            verify_sign_in_code(pending, first, ip=IP)
    assert verify_sign_in_code(pending, second, ip=IP) == "store:1"


def test_a_flood_of_code_requests_is_refused_for_registered_and_unknown_alike(db, fake_store, run_on_commit):
    for identifier in ("09121234567", "09129999999"):
        for _ in range(3):
            sign_in_code_for(identifier, run_on_commit)
        with pytest.raises(TooManyRequests, match="Wait 15 minutes"):
            request_sign_in_code(identifier, ip=IP)
    assert AuditEvent.objects.filter(action="customer.code_refused").count() == 2


def test_a_flood_from_one_network_is_refused_across_identifiers(db, fake_store, run_on_commit, settings):
    settings.CUSTOMER_SIGN_IN = {**settings.CUSTOMER_SIGN_IN, "codes_per_ip": 4}
    for n in range(4):
        sign_in_code_for(f"0912000000{n}", run_on_commit)
    with pytest.raises(TooManyRequests, match="network"):
        request_sign_in_code("09121234567", ip=IP)
    # Another network is not affected.
    assert request_sign_in_code("09121234567", ip="198.51.100.1").channel == "sms"


def test_a_malformed_identifier_is_refused_with_the_reason(db, fake_store):
    with pytest.raises(InvalidInput) as refused:
        request_sign_in_code("not-a-phone", ip=IP)
    assert "phone number" in str(refused.value)


def test_the_audit_trail_never_holds_the_identifier_or_the_code(db, fake_store, run_on_commit):
    pending = sign_in_code_for("09121234567", run_on_commit)
    [code] = sms_codes()
    verify_sign_in_code(pending, code, ip=IP)
    trail = " ".join(AuditEvent.objects.values_list("data_json", flat=True))
    assert "9121234567" not in trail
    assert code not in trail
    assert IP not in trail
    assert AuditEvent.objects.filter(action="customer.signed_in", actor="customer:store:1").exists()

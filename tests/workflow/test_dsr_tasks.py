"""The customer side's beat jobs are scheduled, registered, and idempotent."""

import pytest
from django.conf import settings
from django.core import mail

from requests_portal.celery import app as celery_app
from tests.factories import make_order
from workflow import tasks_customers
from workflow.models import CustomerNotice, DisclosureState

pytestmark = pytest.mark.usefixtures("english")

BEAT = [
    "notify-visible-disclosures",
    "resume-deferred-erasures",
    "remind-due-requests",
    "purge-expired-files",
]


@pytest.mark.parametrize("entry", BEAT)
def test_every_customer_beat_job_names_a_registered_task(entry):
    celery_app.loader.import_default_modules()
    assert settings.CELERY_BEAT_SCHEDULE[entry]["task"] in celery_app.tasks


def test_the_notice_job_run_twice_notifies_once(db, fake_store, officer, approver, run_on_commit):
    make_order(DisclosureState.CLOSED, officer=officer, approver=approver)
    with run_on_commit():
        assert tasks_customers.notify_visible_disclosures.delay().get() == 1
        assert tasks_customers.notify_visible_disclosures.delay().get() == 0
    assert CustomerNotice.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_notice_is_sent_by_sms_when_the_customer_has_no_email(db, fake_store, run_on_commit):
    from workflow.notify.sms import LocmemSms
    from workflow.services.notices import queue_notice

    fake_store.customers["store:2"].email = ""
    with run_on_commit():
        queue_notice("store:2", "dsr:DSR-TEST-0001:completed")
    assert [m["to"] for m in LocmemSms.outbox] == ["+989351112233"]
    assert "DSR-TEST-0001" in LocmemSms.outbox[0]["body"]

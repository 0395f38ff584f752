"""Retention: expired files are purged and recorded; audit events never; held data never."""

import datetime as dt

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from tests.customers_fixtures import place_hold
from tests.factories import make_order
from workflow.models import AuditEvent, DataSubjectRequest, DisclosureOrder, DisclosureState
from workflow.services import dsr as svc
from workflow.services.retention import purge_expired_files

pytestmark = pytest.mark.usefixtures("english")

S = DisclosureState


def with_document(order):
    name = default_storage.save(f"orders/{order.reference}.pdf", ContentFile(b"%PDF-1.7 scanned order"))
    DisclosureOrder.objects.filter(pk=order.pk).update(document=name, document_sha256="ab" * 32)
    return name


def years_later(years=6):
    return time_machine.travel(timezone.now() + dt.timedelta(days=365 * years))


def test_an_expired_order_document_is_purged_and_recorded(db, officer, approver):
    order = make_order(S.CLOSED, officer=officer, approver=approver)
    name = with_document(order)
    events_before = AuditEvent.objects.count()
    assert purge_expired_files().purged == []  # not expired yet
    with years_later(), self_commit():
        report = purge_expired_files()
    assert order.reference in report.purged
    assert DisclosureOrder.objects.get(pk=order.pk).document.name == ""
    assert not default_storage.exists(name)
    event = AuditEvent.objects.get(action="retention.document_purged")
    assert event.data["sha256"] == "ab" * 32
    # Audit events are never purged: the trail only grew.
    assert AuditEvent.objects.count() == events_before + 2  # the document and the package


def test_retention_purge_skips_a_customer_under_legal_hold(db, officer, approver, authority):
    order = make_order(S.CLOSED, officer=officer, approver=approver)
    name = with_document(order)
    place_hold(
        officer=officer, approver=approver, authority=authority, customer_keys=["store:1"], days=365 * 10
    )
    with years_later():
        report = purge_expired_files()
    assert report.purged == []
    assert order.reference in report.kept_for_hold
    assert default_storage.exists(name)


def test_an_open_order_keeps_its_document_whatever_its_age(db, officer, approver):
    order = make_order(S.DELIVERED, officer=officer, approver=approver)
    name = with_document(order)
    with years_later(20):
        assert purge_expired_files().purged == []
    assert default_storage.exists(name)


def test_an_expired_access_package_is_purged(db, fake_store, settings):
    request = svc.file_request(customer_key="store:1", kind="access")
    name = default_storage.save("access/x.pdf", ContentFile(b"%PDF"))
    DataSubjectRequest.objects.filter(pk=request.pk).update(package_file=name, package_id="PKG-1")
    request = svc.record_access_package(
        DataSubjectRequest.objects.get(pk=request.pk), package_id="PKG-1", package_sha256="cd" * 32
    )
    with (
        time_machine.travel(
            timezone.now() + dt.timedelta(days=settings.PORTAL_RETENTION_DAYS["access_package"] + 1)
        ),
        self_commit(),
    ):
        assert purge_expired_files().purged == [request.reference]
    request = DataSubjectRequest.objects.get(pk=request.pk)
    assert request.package_file == ""
    assert request.package_purged_at is not None
    assert not default_storage.exists(name)


def self_commit():
    """The file goes on commit of the purge's transaction."""
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


def test_an_expired_disclosure_package_loses_its_files_but_keeps_its_proof(db, officer, approver):
    from workflow.models import Package

    order = make_order(S.CLOSED, officer=officer, approver=approver)
    package = Package.objects.get(order=order)
    assert default_storage.exists(package.file)
    assert default_storage.exists(package.signed_file)
    with years_later(), self_commit():
        assert package.package_id in purge_expired_files().purged
    assert not default_storage.exists(package.file)
    assert not default_storage.exists(package.signed_file)
    event = AuditEvent.objects.get(action="retention.package_purged")
    assert event.data["signed_sha256"] == Package.objects.get(pk=package.pk).signed_sha256
    with years_later():
        assert purge_expired_files().purged == []  # nothing left to purge, nothing recorded twice


def test_a_held_customers_disclosure_package_is_kept(db, officer, approver, authority):
    from workflow.models import Package

    order = make_order(S.CLOSED, officer=officer, approver=approver)
    place_hold(
        officer=officer, approver=approver, authority=authority, customer_keys=["store:1"], days=365 * 10
    )
    with years_later(), self_commit():
        report = purge_expired_files()
    assert Package.objects.get(order=order).package_id in report.kept_for_hold
    assert default_storage.exists(Package.objects.get(order=order).signed_file)

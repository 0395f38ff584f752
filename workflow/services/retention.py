"""Retention (DESIGN §1, issue 7): the portal keeps what it produced only as long as configured.

A daily beat job deletes expired files — access packages, disclosure packages, scanned order
documents — and records each deletion in the owning request's audit stream. Audit events are
never purged. Nothing of a customer under legal hold is purged while the hold stands.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from workflow import audit
from workflow.models import (
    DataSubjectRequest,
    DisclosureOrder,
    DisclosureState,
    Package,
    PreservationOrder,
    PreservationState,
    RequestState,
)

from .preservation import held_customer_keys
from .transitions import lock

logger = logging.getLogger(__name__)
S = DisclosureState
P = PreservationState
FINISHED_ORDER_STATES = [S.CLOSED, S.REJECTED, S.WITHDRAWN]
FINISHED_PRESERVATION_STATES = [P.RELEASED, P.CONVERTED, P.REJECTED]
FINISHED_REQUEST_STATES = [RequestState.COMPLETED, RequestState.PARTIALLY_COMPLETED, RequestState.REJECTED]


@dataclass
class PurgeReport:
    purged: list[str] = field(default_factory=list)
    kept_for_hold: list[str] = field(default_factory=list)


def cutoff(kind: str, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=settings.PORTAL_RETENTION_DAYS[kind])


def _delete(name: str) -> None:
    if name and default_storage.exists(name):
        default_storage.delete(name)


def purge_expired_files(*, now: dt.datetime | None = None) -> PurgeReport:
    now = now or timezone.now()
    held = held_customer_keys(today=timezone.localdate(now))
    report = PurgeReport()
    _purge_order_documents(now, held, report)
    _purge_preservation_documents(now, report)
    _purge_access_packages(now, held, report)
    _purge_disclosure_packages(now, held, report)
    return report


def _purge_order_documents(now: dt.datetime, held: set[str], report: PurgeReport) -> None:
    expired = DisclosureOrder.objects.filter(
        state__in=FINISHED_ORDER_STATES, updated_at__lt=cutoff("order_document", now)
    ).exclude(document="")
    for order in expired.prefetch_related("scope_items"):
        if {item.customer_key for item in order.scope_items.all()} & held:
            report.kept_for_hold.append(order.reference)
            continue
        with transaction.atomic():
            locked = lock(order)
            name, digest = locked.document.name, locked.document_sha256
            # Only the file goes; the digest stays, so the audit trail can still prove what it was.
            DisclosureOrder.objects.filter(pk=locked.pk).update(document="")
            audit.record(
                "retention.document_purged",
                actor=None,
                obj=locked,
                data={"sha256": digest, "kind": "order_document"},
            )
            transaction.on_commit(partial(_delete, name))
        report.purged.append(order.reference)


def _purge_preservation_documents(now: dt.datetime, report: PurgeReport) -> None:
    # A preservation order's own document is never purged while it preserves (the hold itself).
    expired = PreservationOrder.objects.filter(
        state__in=FINISHED_PRESERVATION_STATES, updated_at__lt=cutoff("order_document", now)
    ).exclude(document="")
    for order in expired:
        with transaction.atomic():
            locked = lock(order)
            name = locked.document.name
            PreservationOrder.objects.filter(pk=locked.pk).update(document="")
            audit.record(
                "retention.document_purged",
                actor=None,
                obj=locked,
                data={"sha256": locked.document_sha256, "kind": "order_document"},
            )
            transaction.on_commit(partial(_delete, name))
        report.purged.append(order.reference)


def _purge_access_packages(now: dt.datetime, held: set[str], report: PurgeReport) -> None:
    expired = DataSubjectRequest.objects.filter(
        state__in=FINISHED_REQUEST_STATES,
        decided_at__lt=cutoff("access_package", now),
        package_purged_at=None,
    ).exclude(package_file="")
    for dsr in expired:
        if dsr.customer_key in held:
            report.kept_for_hold.append(dsr.reference)
            continue
        with transaction.atomic():
            locked = lock(dsr)
            name = locked.package_file
            DataSubjectRequest.objects.filter(pk=locked.pk).update(package_file="", package_purged_at=now)
            audit.record(
                "retention.package_purged",
                actor=None,
                obj=locked,
                data={
                    "package_id": locked.package_id,
                    "sha256": locked.package_sha256,
                    "kind": "access_package",
                },
            )
            transaction.on_commit(partial(_delete, name))
        report.purged.append(dsr.reference)


def _purge_disclosure_packages(now: dt.datetime, held: set[str], report: PurgeReport) -> None:
    """The built and signed files of a finished order's packages go; the package row, its id and
    its hashes stay, so the package can still be proven (and ``verify_package`` still answers)."""
    expired = (
        Package.objects.filter(
            order__state__in=FINISHED_ORDER_STATES, order__updated_at__lt=cutoff("disclosure_package", now)
        )
        .select_related("order")
        .prefetch_related("order__scope_items")
    )
    for package in expired:
        names = [n for n in (package.file, package.signed_file) if n and default_storage.exists(n)]
        if not names:
            continue
        order = package.order
        if {item.customer_key for item in order.scope_items.all()} & held:
            report.kept_for_hold.append(package.package_id)
            continue
        with transaction.atomic():
            audit.record(
                "retention.package_purged",
                actor=None,
                obj=lock(order),
                data={
                    "package_id": package.package_id,
                    "sha256": package.sha256,
                    "signed_sha256": package.signed_sha256,
                    "kind": "disclosure_package",
                },
            )
            for name in names:
                transaction.on_commit(partial(_delete, name))
        report.purged.append(package.package_id)

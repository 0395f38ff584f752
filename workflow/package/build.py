"""The export pipeline: from an approved scope to a stored, ready package (DESIGN §3).

One approved scope gives exactly one package, however often the queue delivers the job:

* the (order, scope revision) row is the database-side claim — created once, under the order's
  row lock, and held by one attempt at a time through a lease (``claimed_by``/``claimed_at``)
  that the attempt refreshes as it reports progress. A redelivered job whose holder was killed
  waits for the lease to lapse and takes over; a duplicate whose holder is alive backs off.
* the PDF is written to a file named after the attempt, and the package becomes ``ready`` —
  and the order ``package_ready`` — in one transaction that first checks the claim is still
  this attempt's. A half-built package is never visible, and a losing attempt deletes its file.
* any failure ends, after a bounded number of attempts, in ``export_failed`` with the reason,
  and the package's files are deleted.

The chain of custody, which does not depend on the extracted data, is rendered by a render
process started with the build while the extraction runs (and rendered again should the order's
trail change before the extraction ends); the rest is rendered once the data is there.
"""

import datetime as dt
import hashlib
import inspect
import logging
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from workflow.errors import DomainError
from workflow.keys import SigningMaterialError
from workflow.models import DisclosureOrder, DisclosureState, Package, PackageStage, PackageState
from workflow.services import disclosure as disclosure_services
from workflow.vault import VaultError, write_sealed

from .content import (
    ExtractionManifest,
    empty_manifest,
    package_document,
    preliminary_document,
    produced_rows,
    write_manifest_json,
)
from .render import PackageRender, RenderError
from .sign import check_signing_material

logger = logging.getLogger(__name__)
S = DisclosureState


class ClaimBusy(Exception):
    """Another live attempt holds the build; this delivery backs off and looks again later."""


class ClaimLost(Exception):
    """This attempt's lease lapsed and another attempt took over: stop without a trace."""


class BuildFailed(Exception):
    """A failure retrying will not fix (the reason is shown to the officer)."""


@dataclass(frozen=True)
class Attempt:
    package_pk: int
    token: str


def attempt_token(task_id: str = "") -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{task_id or '-'}:{uuid.uuid4().hex[:8]}"


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PACKAGE_CLAIM_LEASE_SECONDS)


def claim(order_id: int, revision: int, token: str) -> Attempt | None:
    """Take the build of (order, revision) for this attempt; None when there is nothing to do
    (the package is ready, the order moved on, or this is a stale job of an older scope)."""
    with transaction.atomic():
        order = DisclosureOrder.objects.select_for_update().filter(pk=order_id).first()
        if order is None or order.state != S.EXPORTING or order.scope_revision != revision:
            return None
        package, _created = Package.objects.select_for_update().get_or_create(
            order=order, scope_revision=revision
        )
        if package.state == PackageState.READY:
            return None
        now = timezone.now()
        if package.state == PackageState.FAILED:
            # The order is exporting again: an officer retried the failed export.
            package.state, package.error, package.attempts, package.claimed_by = (
                PackageState.BUILDING,
                "",
                0,
                "",
            )
        if package.claimed_by and package.claimed_at and now - package.claimed_at < _lease():
            raise ClaimBusy(package.package_id)
        package.claimed_by, package.claimed_at = token, now
        package.attempts += 1
        package.stage, package.percent = PackageStage.QUEUED, 0
        package.save()
        return Attempt(package.pk, token)


def report_progress(attempt: Attempt, stage: str, percent: int) -> None:
    """Record the stage and percent the portal polls, and renew the lease."""
    updated = Package.objects.filter(pk=attempt.package_pk, claimed_by=attempt.token).update(
        stage=stage, percent=max(0, min(100, percent)), claimed_at=timezone.now()
    )
    if not updated:
        raise ClaimLost(attempt.token)


# Progress within a stage is recorded at most this often (each report is a database write); a
# new stage is recorded at once.
PROGRESS_INTERVAL_SECONDS = 0.5


class _Progress:
    """``report_progress`` of one attempt, at most every PROGRESS_INTERVAL_SECONDS per stage."""

    def __init__(self, attempt: Attempt) -> None:
        self.attempt, self.stage, self.at = attempt, "", 0.0

    def __call__(self, stage: str, percent: int) -> None:
        now = time.monotonic()
        if stage == self.stage and now - self.at < PROGRESS_INTERVAL_SECONDS:
            return
        report_progress(self.attempt, stage, percent)
        self.stage, self.at = stage, now


def release_claim(attempt: Attempt) -> None:
    """Let a retry take over at once (a failure this attempt survived)."""
    Package.objects.filter(pk=attempt.package_pk, claimed_by=attempt.token).update(
        claimed_by="", claimed_at=None
    )


def package_dir(package: Package) -> str:
    return f"packages/{package.order.reference}/{package.package_id}"


def _delete_files(directory: str, keep: str = "") -> None:
    try:
        _dirs, files = default_storage.listdir(directory)
    except (FileNotFoundError, NotADirectoryError, OSError):
        return
    for name in files:
        path = f"{directory}/{name}"
        if path != keep:
            default_storage.delete(path)


def run_extraction(
    order: DisclosureOrder,
    out_dir: Path,
    progress: Callable[[int], None],
    deflate_dir: Path | None = None,
) -> ExtractionManifest:
    extractor = import_string(settings.PACKAGE_EXTRACTOR)
    options: dict[str, Any] = {}
    if deflate_dir is not None and "deflate_dir" in inspect.signature(extractor).parameters:
        # Compressed for embedding as the rows stream, not read back and compressed afterwards.
        options["deflate_dir"] = deflate_dir
    manifest: ExtractionManifest = extractor(order, out_dir=out_dir, progress=progress, **options)
    return manifest


def extract_with_datamap(
    order: DisclosureOrder,
    *,
    out_dir: Path,
    progress: Callable[[int], None] | None = None,
    deflate_dir: Path | None = None,
) -> ExtractionManifest:
    """The store's data through its data map (issue 3): one request per scoped customer."""
    from workflow.extraction import ScopeRequest, extract_scope

    requests = [
        ScopeRequest(item.customer_key, list(item.categories), item.date_from, item.date_to)
        for item in order.scope_items.all()
    ]
    if not requests:
        return empty_manifest()
    progress_hook: Any = (lambda done, total: progress(int(100 * done / max(total, 1)))) if progress else None
    return extract_scope(
        requests,
        out_dir=out_dir,
        third_party_justification=order.third_party_justification,
        progress=progress_hook,
        deflate_dir=deflate_dir,
    )


def build(attempt: Attempt) -> str:
    """Extract, render and store the package of a claimed build; returns the package id."""
    package = Package.objects.select_related("order", "order__authority").get(pk=attempt.package_pk)
    order = package.order
    stored = ""
    progress = _Progress(attempt)
    try:
        progress(PackageStage.EXTRACTING, 5)
        tmp_root = Path(settings.VAR_DIR) / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        with (
            tempfile.TemporaryDirectory(dir=tmp_root, prefix="package-") as work,
            PackageRender() as renderer,
        ):
            # Rendered by one render process while the extraction runs; a failure of it stops
            # the extraction at its next progress report.
            renderer.render_ahead(preliminary_document(order, package))

            def extracting(pct: int) -> None:
                renderer.raise_for_failure()
                progress(PackageStage.EXTRACTING, 5 + pct * 25 // 100)

            out_dir = Path(work) / "files"
            out_dir.mkdir()
            manifest = run_extraction(order, out_dir, extracting, deflate_dir=Path(work) / "deflated")
            progress(PackageStage.RENDERING, 30)
            manifest_path = write_manifest_json(order, package, manifest, out_dir)
            manifest_sha256 = hashlib.sha256(manifest_path.read_bytes()).hexdigest()
            document = package_document(order, package, manifest, out_dir, manifest_path)
            pdf = renderer.render(
                document,
                progress=lambda pct: progress(PackageStage.RENDERING, 30 + pct * 60 // 100),
                # Run while the render children work: a key that cannot sign fails the build
                # (decrypted only if this process has not loaded these very files before).
                while_rendering=check_signing_material,
            )
        progress(PackageStage.STORING, 92)
        sha256 = hashlib.sha256(pdf).hexdigest()
        stored = write_sealed(
            default_storage, f"{package_dir(package)}/{attempt.token.split(':')[-1]}.pdf", pdf
        )
        with transaction.atomic():
            locked = Package.objects.select_for_update().get(pk=package.pk)
            if locked.claimed_by != attempt.token:
                raise ClaimLost(attempt.token)
            locked.state, locked.stage, locked.percent = PackageState.READY, PackageStage.DONE, 100
            locked.file, locked.sha256, locked.size = stored, sha256, len(pdf)
            locked.manifest_sha256 = manifest_sha256
            locked.row_count = sum(produced_rows(manifest).values())
            locked.no_data = locked.row_count == 0
            locked.claimed_by, locked.finished_at = "", timezone.now()
            locked.save()
            disclosure_services.mark_export_succeeded(
                order, package_id=locked.package_id, package_sha256=sha256
            )
        # A killed earlier attempt may have left its file: only this one belongs to the package.
        _delete_files(package_dir(package), keep=stored)
        return package.package_id
    except ClaimLost:
        if stored:
            default_storage.delete(stored)
        raise
    except Exception:
        if stored:
            default_storage.delete(stored)
        raise


def permanent_reason(err: BaseException) -> str | None:
    """The officer-facing reason of a failure retrying cannot fix; None for a transient one."""
    if isinstance(err, SigningMaterialError):
        return _("The store's signing key cannot be used: %(reason)s.") % {"reason": err}
    if isinstance(err, RenderError):
        return _("The package could not be rendered: %(reason)s.") % {"reason": err}
    if isinstance(err, VaultError):
        return _("The package could not be encrypted for storage: %(reason)s.") % {"reason": err}
    if isinstance(err, BuildFailed):
        return str(err)
    return None


def describe(err: BaseException) -> str:
    """The officer-facing reason of a failure that outlived its retries."""
    if isinstance(err, DomainError):  # e.g. the extraction's "the store source … failed"
        return str(err.message)
    return _("The export failed: %(kind)s: %(reason)s") % {
        "kind": type(err).__name__,
        "reason": str(err)[:300],
    }


def fail(order_id: int, revision: int, reason: str, token: str | None = None) -> bool:
    """End the build in export_failed with ``reason`` and no file left behind. With a token,
    only if that attempt still holds the claim. Returns whether it failed the order."""
    with transaction.atomic():
        order = DisclosureOrder.objects.select_for_update().filter(pk=order_id).first()
        if order is None or order.state != S.EXPORTING or order.scope_revision != revision:
            return False
        package = Package.objects.select_for_update().filter(order=order, scope_revision=revision).first()
        if package is not None:
            if token is not None and package.claimed_by not in ("", token):
                return False
            if package.state == PackageState.READY:
                return False
            package.state, package.error, package.claimed_by = PackageState.FAILED, reason, ""
            package.finished_at = timezone.now()
            package.file = ""
            package.save()
            transaction.on_commit(lambda: _delete_files(package_dir(package)))
        disclosure_services.mark_export_failed(order, error=reason)
    return True


def attempts_left(attempt: Attempt) -> bool:
    return Package.objects.filter(pk=attempt.package_pk, attempts__lt=settings.PACKAGE_MAX_ATTEMPTS).exists()


def build_progress(order: DisclosureOrder) -> dict[str, Any]:
    """What the portal polls while an order is exporting."""
    package = order.packages.filter(scope_revision=order.scope_revision).first()
    if package is None:
        return {
            "state": "queued",
            "stage": PackageStage.QUEUED,
            "stage_label": str(PackageStage.QUEUED.label),
            "percent": 0,
        }
    return {
        "state": package.state,
        "stage": package.stage,
        "stage_label": str(PackageStage(package.stage).label),
        "percent": package.percent,
        "package_id": package.package_id if package.state == PackageState.READY else "",
        "error": package.error,
    }


def build_now(order: DisclosureOrder) -> DisclosureOrder:
    """Run the export of an approved scope in this process, exactly as a worker runs it (the
    same claim, so a queued duplicate finds the package ready). For the demo and for tools
    that must not wait for a worker."""
    token = attempt_token("inline")
    attempt = claim(order.pk, order.scope_revision, token)
    if attempt is not None:
        try:
            build(attempt)
        except ClaimLost:
            pass
        except Exception as err:  # every failure ends in export_failed, with its reason
            logger.exception("package build of order %s failed", order.pk)
            fail(order.pk, order.scope_revision, permanent_reason(err) or describe(err), token)
    return DisclosureOrder.objects.get(pk=order.pk)

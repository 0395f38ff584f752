"""The export pipeline: one approved scope, one package, whatever happens (issue 4, §1)."""

import datetime as dt
import itertools
import multiprocessing
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.storage import default_storage
from django.utils import timezone

from requests_portal.celery import app
from tests.factories import make_order
from tests.workflow.package_fixtures import approve_and_build
from workflow import audit
from workflow.models import DisclosureOrder, DisclosureState, Package, PackageState
from workflow.package import build as pipeline
from workflow.package import render
from workflow.package.render import RenderError
from workflow.package.verify import read_attachments
from workflow.services import disclosure as svc
from workflow.tasks import build_package
from workflow.vault import read_sealed

S = DisclosureState
pytestmark = pytest.mark.django_db


def stored_files(order: DisclosureOrder) -> list[str]:
    try:
        return default_storage.listdir(f"packages/{order.reference}")[0]
    except FileNotFoundError:
        return []


def test_approving_a_scope_builds_one_ready_package(built_order: DisclosureOrder) -> None:
    assert built_order.state == S.PACKAGE_READY
    package = Package.objects.get(order=built_order)
    assert package.state == PackageState.READY
    assert package.percent == 100
    pdf = read_sealed(default_storage, package.file)
    assert pdf.startswith(b"%PDF-")
    assert package.row_count == 6  # two categories × three rows


def test_the_stored_package_is_encrypted_at_rest(built_order: DisclosureOrder) -> None:
    package = Package.objects.get(order=built_order)
    with default_storage.inner.open(package.file, "rb") as raw:
        on_disk = raw.read()
    assert not on_disk.startswith(b"%PDF")
    assert b"manifest.json" not in on_disk


def test_a_duplicate_delivery_of_the_job_makes_no_second_package(built_order: DisclosureOrder) -> None:
    package = Package.objects.get(order=built_order)
    assert build_package.apply(args=[built_order.pk, built_order.scope_revision]).get() is None
    assert Package.objects.filter(order=built_order).count() == 1
    assert Package.objects.get(order=built_order).sha256 == package.sha256


def test_a_job_of_an_older_scope_revision_does_nothing(built_order: DisclosureOrder) -> None:
    assert pipeline.claim(built_order.pk, built_order.scope_revision - 1, "stale") is None


def test_a_live_claim_makes_a_second_attempt_back_off(
    eager_pipeline: None,
    officer: Any,
    approver: Any,
) -> None:
    order = make_order(S.EXPORTING, officer=officer, approver=approver)
    assert pipeline.claim(order.pk, order.scope_revision, "first") is not None
    with pytest.raises(pipeline.ClaimBusy):
        pipeline.claim(order.pk, order.scope_revision, "second")


def test_a_lapsed_claim_of_a_dead_worker_is_taken_over(
    eager_pipeline: None,
    officer: Any,
    approver: Any,
) -> None:
    order = make_order(S.EXPORTING, officer=officer, approver=approver)
    dead = pipeline.claim(order.pk, order.scope_revision, "dead")
    assert dead is not None
    Package.objects.filter(pk=dead.package_pk).update(claimed_at=timezone.now() - dt.timedelta(hours=1))
    taker = pipeline.claim(order.pk, order.scope_revision, "taker")
    assert taker is not None
    pipeline.build(taker)
    with pytest.raises(pipeline.ClaimLost):
        pipeline.report_progress(dead, "rendering", 50)
    assert DisclosureOrder.objects.get(pk=order.pk).state == S.PACKAGE_READY
    package = Package.objects.get(order=order)
    assert default_storage.listdir(f"packages/{order.reference}/{package.package_id}")[1] == [
        package.file.rsplit("/", 1)[1]
    ]


def test_progress_is_reported_for_the_portal(
    eager_pipeline: None,
    officer: Any,
    approver: Any,
) -> None:
    order = make_order(S.EXPORTING, officer=officer, approver=approver)
    assert pipeline.build_progress(order)["percent"] == 0
    attempt = pipeline.claim(order.pk, order.scope_revision, "me")
    assert attempt is not None
    pipeline.report_progress(attempt, "rendering", 40)
    assert pipeline.build_progress(order) | {"package_id": ""} == pipeline.build_progress(order) | {
        "stage": "rendering",
        "percent": 40,
        "package_id": "",
    }
    pipeline.build(attempt)
    progress = pipeline.build_progress(DisclosureOrder.objects.get(pk=order.pk))
    assert (progress["state"], progress["percent"]) == ("ready", 100)


def test_a_scope_matching_nothing_gives_a_no_data_found_package(
    eager_pipeline: None,
    officer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = make_order(S.SCOPING, officer=officer)
    lines = [svc.ScopeLine("store:0", ["identity"], order.requested_from, order.requested_to, [])]
    order = svc.set_scope(order, actor=officer, lines=lines)
    order = svc.submit_scope(order, actor=officer)
    with django_capture_on_commit_callbacks(execute=True):
        svc.approve_scope(order, actor=approver)
    package = Package.objects.get(order=order)
    assert package.state == PackageState.READY
    assert package.no_data
    pdf = read_sealed(default_storage, package.file)
    assert "manifest.json" in read_attachments(pdf)


def _fails_with(order: DisclosureOrder) -> str:
    order = DisclosureOrder.objects.get(pk=order.pk)
    assert order.state == S.EXPORT_FAILED
    assert Package.objects.get(order=order).state == PackageState.FAILED
    assert stored_files(order) == [] or all(
        default_storage.listdir(f"packages/{order.reference}/{d}")[1] == [] for d in stored_files(order)
    )
    return order.export_error


def test_a_failing_source_ends_in_export_failed_with_the_reason_after_bounded_retries(
    eager_pipeline: None,
    officer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    settings.PACKAGE_MAX_ATTEMPTS = 2
    monkeypatch.setenv("FAKE_STORE_FAIL", "1")
    # Eager Celery runs the retry at once and then raises Retry to the caller: keep it in the result.
    app.conf.task_eager_propagates = False
    calls: list[int] = []
    real = pipeline.run_extraction
    monkeypatch.setattr(pipeline, "run_extraction", lambda *a, **k: calls.append(1) or real(*a, **k))
    order = approve_and_build(officer, approver, django_capture_on_commit_callbacks)
    assert "refused the connection" in _fails_with(order)
    assert len(calls) == 2


def test_a_render_error_ends_in_export_failed_at_once(
    eager_pipeline: None,
    officer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RenderError("rendering part 1 failed: a table too wide")

    monkeypatch.setattr(pipeline.PackageRender, "render", broken)
    order = approve_and_build(officer, approver, django_capture_on_commit_callbacks)
    assert "could not be rendered" in _fails_with(order)


def test_an_unreadable_signing_key_ends_in_export_failed(
    eager_pipeline: None,
    officer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    tmp_path: Any,
) -> None:
    settings.SIGNING_KEY_PATH = tmp_path / "missing.pem"
    order = approve_and_build(officer, approver, django_capture_on_commit_callbacks)
    reason = _fails_with(order)
    assert "signing key" in reason
    assert "cannot be read" in reason


def test_a_retried_export_builds_the_package_after_a_failure(
    eager_pipeline: None,
    officer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    tmp_path: Any,
) -> None:
    good_key = settings.SIGNING_KEY_PATH
    settings.SIGNING_KEY_PATH = tmp_path / "missing.pem"
    order = approve_and_build(officer, approver, django_capture_on_commit_callbacks)
    settings.SIGNING_KEY_PATH = good_key
    with django_capture_on_commit_callbacks(execute=True):
        svc.retry_export(DisclosureOrder.objects.get(pk=order.pk), actor=officer)
    assert DisclosureOrder.objects.get(pk=order.pk).state == S.PACKAGE_READY
    assert Package.objects.filter(order=order).count() == 1


def test_a_build_past_its_time_limit_ends_in_export_failed_saying_so(
    eager_pipeline: None,
    officer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def too_long(attempt: Any) -> str:
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(pipeline, "build", too_long)
    order = approve_and_build(officer, approver, django_capture_on_commit_callbacks)
    assert "took longer than" in _fails_with(order)


# --- The chain of custody, rendered while the extraction runs ------------------------------


def _render_part_failing_on_custody(html: str, part: int | None = None) -> tuple[bytes, int]:
    """A render child that cannot render the chain of custody (module level: the pool sends it
    to its children by name)."""
    if 'class="section"' in html and "order.scope_approved" in html:
        raise RuntimeError("the custody table broke the layout")
    return REAL_RENDER_PART(html, part)


REAL_RENDER_PART = render.render_part


def _no_render_children_left() -> bool:
    return multiprocessing.active_children() == []


@pytest.fixture
def work_dirs(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The build's working directories, as it creates them."""
    made: list[Path] = []
    real = tempfile.TemporaryDirectory

    def recorded(*args: Any, **kwargs: Any) -> Any:
        directory = real(*args, **kwargs)
        made.append(Path(directory.name))
        return directory

    monkeypatch.setattr(pipeline.tempfile, "TemporaryDirectory", recorded)
    return made


def test_an_event_recorded_during_the_extraction_is_in_the_chain_of_custody(
    eager_pipeline: None,
    officer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The chain of custody is rendered from the trail as the build starts; an event recorded
    before the extraction ends is in the package all the same (that part is rendered again)."""
    real = pipeline.run_extraction

    def extraction_with_an_event(order: DisclosureOrder, *args: Any, **kwargs: Any) -> Any:
        audit.record("order.note_added", actor=officer, obj=order, data={"during": "extraction"})
        return real(order, *args, **kwargs)

    monkeypatch.setattr(pipeline, "run_extraction", extraction_with_an_event)
    order = approve_and_build(officer, approver, django_capture_on_commit_callbacks)
    assert order.state == S.PACKAGE_READY
    pdf = read_sealed(default_storage, Package.objects.get(order=order).file)
    path = tmp_path / "package.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "order.note_added" in text
    assert "order.scope_approved" in text
    assert _no_render_children_left()


def test_a_failure_rendering_ahead_stops_the_extraction_and_ends_in_export_failed(
    eager_pipeline: None,
    work_dirs: list[Path],
    officer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(render, "render_part", _render_part_failing_on_custody)
    monkeypatch.setenv("FAKE_STORE_DELAY", "20")  # reports progress every 0.2 s meanwhile
    started = time.monotonic()
    order = approve_and_build(officer, approver, django_capture_on_commit_callbacks)
    assert time.monotonic() - started < 15, "the extraction ran on after the render failed"
    reason = _fails_with(order)
    assert "could not be rendered" in reason
    assert "chain of custody" in reason
    assert "the custody table broke the layout" in reason
    assert _no_render_children_left()
    assert work_dirs
    assert not any(directory.exists() for directory in work_dirs)


def test_a_failure_rendering_ahead_after_a_quick_extraction_ends_in_export_failed(
    eager_pipeline: None,
    officer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(render, "render_part", _render_part_failing_on_custody)
    order = approve_and_build(officer, approver, django_capture_on_commit_callbacks)
    assert "could not be rendered" in _fails_with(order)
    assert _no_render_children_left()


def test_a_source_failing_while_the_chain_of_custody_renders_leaves_no_render_process(
    eager_pipeline: None,
    work_dirs: list[Path],
    officer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    settings.PACKAGE_MAX_ATTEMPTS = 1
    monkeypatch.setenv("FAKE_STORE_FAIL", "1")
    app.conf.task_eager_propagates = False
    order = approve_and_build(officer, approver, django_capture_on_commit_callbacks)
    assert "refused the connection" in _fails_with(order)
    assert _no_render_children_left()
    assert work_dirs
    assert not any(directory.exists() for directory in work_dirs)


def test_progress_within_a_stage_is_written_at_most_every_half_second(
    eager_pipeline: None,
    officer: Any,
    approver: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The extraction reports every 0.2 s for 2 s; the lease is still renewed as it goes."""
    monkeypatch.setenv("FAKE_STORE_DELAY", "2")
    written: list[tuple[str, int, float]] = []
    real = pipeline.report_progress

    def counted(attempt: Any, stage: str, percent: int) -> None:
        written.append((stage, percent, time.monotonic()))
        real(attempt, stage, percent)

    monkeypatch.setattr(pipeline, "report_progress", counted)
    order = approve_and_build(officer, approver, django_capture_on_commit_callbacks)
    assert order.state == S.PACKAGE_READY
    extracting = [at for stage, _pct, at in written if stage == "extracting"]
    assert 4 <= len(extracting) <= 6
    assert all(b - a >= pipeline.PROGRESS_INTERVAL_SECONDS for a, b in itertools.pairwise(extracting))
    assert [stage for stage, _pct, _at in written][-1] == "storing"

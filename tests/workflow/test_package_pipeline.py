"""The export pipeline: one approved scope, one package, whatever happens (issue 4, §1)."""

import datetime as dt
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.storage import default_storage
from django.utils import timezone

from requests_portal.celery import app
from tests.factories import make_order
from tests.workflow.package_fixtures import approve_and_build
from workflow.models import DisclosureOrder, DisclosureState, Package, PackageState
from workflow.package import build as pipeline
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

    monkeypatch.setattr(pipeline, "render_package", broken)
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

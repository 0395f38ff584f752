"""Fixtures of the package tests: an order built through the real pipeline (in-process, eager
Celery) with the test extraction, and its released PDF."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.storage import default_storage

from requests_portal.celery import app
from tests.factories import make_order
from workflow.keys import ensure_demo_signing_material
from workflow.models import DisclosureOrder, DisclosureState, Package
from workflow.services import disclosure as svc
from workflow.vault import read_sealed

S = DisclosureState


@pytest.fixture
def eager_pipeline(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Celery runs tasks in-process; the build reads the test extraction."""
    settings.PACKAGE_EXTRACTOR = "tests.fake_extraction.extract"
    monkeypatch.setenv("FAKE_STORE_ROWS", "3")
    ensure_demo_signing_material()
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


def approve_and_build(officer: Any, approver: Any, capture: Any, **intake: Any) -> DisclosureOrder:
    """An order approved through the services; the build runs on commit, as in production."""
    order = make_order(S.AWAITING_APPROVAL, officer=officer, **intake)
    with capture(execute=True):
        svc.approve_scope(order, actor=approver)
    return DisclosureOrder.objects.get(pk=order.pk)


@pytest.fixture
def built_order(
    eager_pipeline: None, officer: Any, approver: Any, django_capture_on_commit_callbacks: Any
) -> DisclosureOrder:
    return approve_and_build(officer, approver, django_capture_on_commit_callbacks)


@pytest.fixture
def released_pdf(built_order: DisclosureOrder, approver: Any) -> bytes:
    svc.release(built_order, actor=approver)
    package = Package.objects.get(order=built_order)
    return read_sealed(default_storage, package.signed_file)

"""The package pipeline on real Celery workers: a build survives a killed worker and a
duplicate delivery, and still gives exactly one package (issue 4, §1)."""

import os
import signal
from typing import Any

import pytest

from requests_portal.celery import app
from tests.factories import make_order
from tests.workers import Workers, wait_for
from workflow.keys import ensure_demo_signing_material
from workflow.models import AuditEvent, DisclosureOrder, DisclosureState, Package, PackageState
from workflow.services import disclosure as svc

S = DisclosureState
pytestmark = pytest.mark.django_db(transaction=True)

WORKER_ENV = {
    "PACKAGE_EXTRACTOR": "tests.fake_extraction.extract",
    "FAKE_STORE_ROWS": "40",
    "PACKAGE_CLAIM_LEASE_SECONDS": "3",
}


@pytest.fixture(autouse=True)
def signing_material() -> None:
    ensure_demo_signing_material()


def approved_order(officer: Any, approver: Any) -> DisclosureOrder:
    """Approved through the services: the build is enqueued when the approval commits."""
    order = make_order(S.AWAITING_APPROVAL, officer=officer)
    return svc.approve_scope(order, actor=approver)


def state_of(order: DisclosureOrder) -> str:
    return DisclosureOrder.objects.values_list("state", flat=True).get(pk=order.pk)


def assert_exactly_one_package(order: DisclosureOrder, workers: Workers) -> None:
    wait_for(lambda: state_of(order) in (S.PACKAGE_READY, S.EXPORT_FAILED), timeout=120, what="the build")
    assert state_of(order) == S.PACKAGE_READY, workers.logs()
    packages = Package.objects.filter(order=order)
    assert packages.count() == 1
    assert packages.get().state == PackageState.READY
    ready_events = AuditEvent.objects.filter(
        object_ref=f"disclosureorder:{order.reference}", action="order.package_ready"
    )
    assert ready_events.count() == 1


def redeliver(order: DisclosureOrder) -> None:
    """What the broker does with an unacknowledged message of a worker that died."""
    app.send_task("workflow.build_package", args=[order.pk, order.scope_revision])


def test_a_real_worker_builds_the_package_of_an_approved_scope(
    celery_workers: Workers, officer: Any, approver: Any
) -> None:
    celery_workers.start(env=WORKER_ENV)
    order = approved_order(officer, approver)
    assert_exactly_one_package(order, celery_workers)


def test_killing_the_build_process_mid_build_redelivers_and_gives_one_package(
    celery_workers: Workers, officer: Any, approver: Any
) -> None:
    # Prefork: the worker's main process sees its child die and, with reject_on_worker_lost,
    # puts the message back on the queue.
    celery_workers.start(pool="prefork", concurrency=1, env=WORKER_ENV | {"FAKE_STORE_DELAY": "8"})
    order = approved_order(officer, approver)
    package = wait_for(
        lambda: Package.objects.filter(order=order, stage="extracting").first(), what="the build to start"
    )
    builder_pid = int(package.claimed_by.split(":")[1])
    os.kill(builder_pid, signal.SIGKILL)
    # The redelivered job finds the dead attempt's claim, waits for its lease to lapse, takes over.
    assert_exactly_one_package(order, celery_workers)
    assert Package.objects.get(order=order).attempts == 2


def test_killing_the_whole_worker_and_redelivering_gives_one_package(
    celery_workers: Workers, officer: Any, approver: Any
) -> None:
    first = celery_workers.start(name="doomed", env=WORKER_ENV | {"FAKE_STORE_DELAY": "8"})
    order = approved_order(officer, approver)
    wait_for(
        lambda: Package.objects.filter(order=order, stage="extracting").exists(), what="the build to start"
    )
    first.kill(signal.SIGKILL)
    redeliver(order)
    celery_workers.start(name="survivor", env=WORKER_ENV)
    assert_exactly_one_package(order, celery_workers)


def test_two_workers_racing_on_one_job_give_one_package(
    celery_workers: Workers, officer: Any, approver: Any
) -> None:
    env = WORKER_ENV | {"FAKE_STORE_DELAY": "3"}
    celery_workers.start(name="left", env=env)
    celery_workers.start(name="right", env=env)
    order = approved_order(officer, approver)
    redeliver(order)  # a duplicate delivery of the same job, taken by the other worker
    assert_exactly_one_package(order, celery_workers)
    logs = celery_workers.logs()
    assert logs.count("Task workflow.build_package") >= 2, logs

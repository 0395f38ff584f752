"""Shared fixtures: personas, services reachability, and the PostgreSQL audit-trigger dance."""

import os
import socket
from typing import Any
from urllib.parse import urlparse

import pytest
from django.db import connection
from django.db.models.signals import post_migrate

from tests.factories import AuthorityFactory, UserFactory
from tests.workers import celery_workers  # noqa: F401 — real Celery worker subprocesses
from tests.workflow.package_fixtures import built_order, eager_pipeline, released_pdf  # noqa: F401 — packages

pytest_plugins = [
    "tests.customers_fixtures",  # the customer side: fake_store, eager_celery, run_on_commit, english
    "tests.audit_support",  # signing material and witness fixtures of the audit tests
]

IN_CI = os.environ.get("CI", "").lower() == "true"


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=3
        ):
            return True
    except OSError:
        return False


def pytest_configure(config: pytest.Config) -> None:
    """A run that asks for PostgreSQL or a network broker fails at once when it is unreachable:
    tests that need real services never skip quietly (CI=true or not)."""
    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if database_url.startswith("postgres") and not _reachable(database_url, 5432):
        pytest.exit(f"PostgreSQL is unreachable at {urlparse(database_url).netloc}", returncode=1)
    if broker_url.startswith(("redis", "amqp")) and not _reachable(broker_url, 6379):
        pytest.exit(f"The broker is unreachable at {urlparse(broker_url).netloc}", returncode=1)
    mysql_url = os.environ.get("STORE_MYSQL_URL", "")
    if mysql_url and not _reachable(mysql_url, 3306):
        pytest.exit(f"The MySQL/MariaDB store is unreachable at {urlparse(mysql_url).netloc}", returncode=1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests run in the services pass (``make test-services``); in the embedded
    pass they are deselected, not skipped, and the summary says how many."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return
    keep, moved = [], []
    for item in items:
        (moved if item.get_closest_marker("postgres") else keep).append(item)
    if moved:
        config.hook.pytest_deselected(items=moved)
        items[:] = keep
        config._pg_deselected = len(moved)  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    moved = getattr(config, "_pg_deselected", 0)
    if moved:
        terminalreporter.write_line(
            f"{moved} PostgreSQL-only tests deselected here; they run in `make test-services`."
        )


# --- PostgreSQL: the audit table refuses TRUNCATE, and Django's test flush truncates ----------
# Between transactional tests the flush runs as a superuser with triggers disabled for that one
# statement (session_replication_role, superuser-only), and they are enabled again right after.


def _restore_triggers(**kwargs: Any) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = origin")


post_migrate.connect(_restore_triggers, dispatch_uid="tests-restore-audit-triggers")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    # Runs before the fixtures' finalizers, hence before pytest-django's flush. A test that ran
    # inside a transaction (the ``db`` fixture) is rolled back, not flushed: nothing to do.
    marker = item.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server", "django_db_reset_sequences"}
        & set(getattr(item, "fixturenames", ()))
    )
    if transactional and connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
    return (yield)


# --- Personas -------------------------------------------------------------------------------


@pytest.fixture
def officer(db: None) -> Any:
    return UserFactory(username="officer", role="legal_officer")


@pytest.fixture
def second_officer(db: None) -> Any:
    return UserFactory(username="officer2", role="legal_officer")


@pytest.fixture
def approver(db: None) -> Any:
    return UserFactory(username="approver", role="approver")


@pytest.fixture
def second_approver(db: None) -> Any:
    return UserFactory(username="approver2", role="approver")


@pytest.fixture
def auditor(db: None) -> Any:
    return UserFactory(username="auditor", role="auditor")


@pytest.fixture
def administrator(db: None) -> Any:
    return UserFactory(username="admin", role="administrator")


@pytest.fixture
def customer_user(db: None) -> Any:
    return UserFactory(username="customer", role="customer")


@pytest.fixture
def outsider(db: None) -> Any:
    """Signed in, active, and holding no role at all."""
    return UserFactory(username="outsider", role=None)


@pytest.fixture
def authority(db: None) -> Any:
    return AuthorityFactory()


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache: sessions, the sign-in gate's state, rendered pages
    and freshness tokens of an earlier test's rows (whose ids the next test reuses) stay behind."""
    from django.core.cache import cache

    cache.clear()

"""Real Celery workers for tests: subprocesses that consume the test broker and share the test
database (the test settings use a file SQLite database for this; on PostgreSQL the worker
connects to the test database by name; a Redis broker is inherited from CELERY_BROKER_URL).

Use the ``celery_workers`` fixture (exposed by tests/conftest.py) from a test marked
``django_db(transaction=True)``: data must be committed for the worker to see it.

    def test_something(celery_workers):
        worker = celery_workers.start(env={"FAKE_STORE_DELAY": "5"})
        ...            # enqueue through the services; wait with wait_for(...)
        worker.kill()  # SIGKILL, as a crash would
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the database this test process uses right now (the test database)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = quote(s.get("USER") or "")
    password = f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def wait_for(
    condition: Callable[[], Any], *, timeout: float = 60, interval: float = 0.2, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


class WorkerProcess:
    """One ``celery worker`` subprocess; its log is kept in a file for failure reports."""

    def __init__(self, name: str, *, pool: str, concurrency: int, env: dict[str, str]) -> None:
        self.name = name
        self.log_file = tempfile.NamedTemporaryFile(prefix=f"celery-{name}-", suffix=".log", delete=False)  # noqa: SIM115
        command = [
            sys.executable, "-m", "celery", "-A", "requests_portal", "worker",
            "-P", pool, "-c", str(concurrency), "-n", f"{name}@%h", "-l", "info",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() takes the pool children too
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return Path(self.log_file.name).read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> "WorkerProcess":
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited early:\n{self.log()}")
            return " ready." in self.log()

        wait_for(ready, timeout=timeout, what=f"worker {self.name} to be ready")
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the whole worker (main process and pool children), as a crash would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log_file.close()


class Workers:
    """Starts workers against the test database and stops every one at the end of the test."""

    def __init__(self) -> None:
        self.started: list[WorkerProcess] = []

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "tests.settings",
                "DATABASE_URL": database_url(),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")])),
                "CELERY_TASK_ALWAYS_EAGER": "0",
            }
        )
        env.update(extra or {})
        return env

    def start(
        self,
        *,
        name: str | None = None,
        pool: str = "solo",
        concurrency: int = 1,
        env: dict[str, str] | None = None,
    ) -> WorkerProcess:
        worker = WorkerProcess(
            name or f"w{len(self.started) + 1}", pool=pool, concurrency=concurrency, env=self.environment(env)
        )
        self.started.append(worker)
        return worker.wait_ready()

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {w.name} ---\n{w.log()}" for w in self.started)


def purge_queues() -> None:
    from requests_portal.celery import app

    app.control.purge()


@pytest.fixture
def celery_workers(transactional_db: None) -> Iterator[Workers]:
    """Real worker subprocesses on the test database and broker (see module docstring)."""
    purge_queues()
    workers = Workers()
    try:
        yield workers
    finally:
        workers.stop_all()
        purge_queues()

"""A run that asks for PostgreSQL or a broker fails when they are unreachable; it never skips."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("variable", "url", "message"),
    [
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/test", "PostgreSQL is unreachable"),
        ("CELERY_BROKER_URL", "redis://127.0.0.1:1/0", "The broker is unreachable"),
    ],
)
def test_an_unreachable_service_fails_the_run(variable, url, message):
    env = {**os.environ, variable: url, "CI": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/requests_portal"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert message in result.stdout + result.stderr

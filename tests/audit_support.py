"""Helpers for the audit-trail tests: signing material, a witness directory, raw tampering."""

import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from workflow.audit import record
from workflow.keys import SigningPaths, ensure_demo_signing_material


@pytest.fixture(scope="session")
def demo_signing_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo CA + signer per test session (RSA key generation is slow)."""
    directory = tmp_path_factory.mktemp("signing")
    ensure_demo_signing_material(
        SigningPaths(directory / "signer.key.pem", directory / "signer.cert.pem", directory / "ca.cert.pem"),
        store_name="Test Store",
    )
    return directory


@pytest.fixture
def signing(settings: Any, demo_signing_dir: Path, tmp_path: Path) -> SigningPaths:
    """The store's key and certificates, and an empty witness directory, for one test."""
    directory = tmp_path / "signing"
    shutil.copytree(demo_signing_dir, directory)
    settings.SIGNING_KEY_PATH = directory / "signer.key.pem"
    settings.SIGNING_CERT_PATH = directory / "signer.cert.pem"
    settings.SIGNING_CA_CERT_PATH = directory / "ca.cert.pem"
    settings.SIGNING_KEY_PASSPHRASE = ""
    settings.AUDIT_WITNESS_DIR = tmp_path / "witness"
    settings.AUDIT_WITNESS_STORAGE = ""
    return SigningPaths.from_settings()


def raw_sql(sql: str, params: list[Any] | None = None) -> None:
    """SQL as an attacker with database rights runs it: on PostgreSQL as a superuser who switches
    the append-only triggers off for the statement (session_replication_role = replica)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params or [])
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = origin")


def record_history(streams: dict[str, int]) -> None:
    """``n`` events on each named stream, through the real ``record``."""
    for stream, count in streams.items():
        for n in range(1, count + 1):
            record(f"test.step_{n}", actor=None, stream=stream, obj=f"ref:{stream}", data={"n": n})


def verify_audit() -> tuple[int, str]:
    """Run ``manage.py verify_audit``: (exit code, what it printed)."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", "--no-record", stdout=out, stderr=err)
    except CommandError as failure:
        return failure.returncode, f"{err.getvalue()}\n{failure}"
    return 0, out.getvalue()

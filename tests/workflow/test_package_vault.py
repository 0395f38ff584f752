"""Encryption at rest of packages and scanned orders (DESIGN §3)."""

import base64
import secrets
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from workflow import vault


def test_files_saved_through_the_default_storage_are_encrypted_on_disk_and_read_back_in_clear() -> None:
    name = default_storage.save("orders/scan.pdf", ContentFile(b"%PDF-1.7 the court's order"))
    try:
        with default_storage.inner.open(name, "rb") as raw:
            on_disk = raw.read()
        assert b"court's order" not in on_disk
        assert on_disk.startswith(vault.MAGIC)
        assert vault.read_sealed(default_storage, name) == b"%PDF-1.7 the court's order"
    finally:
        default_storage.delete(name)


def test_a_file_changed_on_disk_does_not_open() -> None:
    name = default_storage.save("orders/scan.pdf", ContentFile(b"%PDF-1.7 original"))
    try:
        path = Path(default_storage.inner.path(name))
        data = bytearray(path.read_bytes())
        data[-1] ^= 1
        path.write_bytes(bytes(data))
        with pytest.raises(vault.VaultError, match="changed or sealed with another key"):
            vault.read_sealed(default_storage, name)
    finally:
        default_storage.delete(name)


def test_a_sealed_file_moved_to_another_name_does_not_open() -> None:
    sealed = vault.seal(b"package bytes", label="packages/a.pdf")
    with pytest.raises(vault.VaultError):
        vault.unseal(sealed, label="packages/b.pdf")
    assert vault.unseal(sealed, label="packages/a.pdf") == b"package bytes"


def test_the_data_key_comes_from_the_environment_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    key = secrets.token_bytes(32)
    monkeypatch.setenv("PORTAL_DATA_KEY", base64.urlsafe_b64encode(key).decode())
    vault.data_key.cache_clear()
    try:
        assert vault.data_key() == key
        monkeypatch.setenv("PORTAL_DATA_KEY", "too-short")
        vault.data_key.cache_clear()
        with pytest.raises(vault.VaultError, match="PORTAL_DATA_KEY"):
            vault.data_key()
    finally:
        monkeypatch.delenv("PORTAL_DATA_KEY")
        vault.data_key.cache_clear()


def test_a_sealed_file_has_neither_a_url_nor_a_path_only_open_decrypts_it() -> None:
    name = default_storage.save("orders/refused-access.pdf", ContentFile(b"%PDF-1.7 sealed"))
    try:
        with pytest.raises(vault.NoDirectAccess, match="no public URL"):
            default_storage.url(name)
        with pytest.raises(NotImplementedError, match="never from a path"):  # Django's contract
            default_storage.path(name)
        with default_storage.open(name, "rb") as handle:
            assert handle.read() == b"%PDF-1.7 sealed"
    finally:
        default_storage.delete(name)

"""Encryption at rest for the files the portal keeps: scanned orders and packages (DESIGN §3).

Every file goes through ``EncryptedStorage``, which wraps the configured backend (local disk or
S3) and seals each file with AES-256-GCM under the data key. The key comes from the environment
(``PORTAL_DATA_KEY``, 32 bytes in URL-safe base64); the embedded shape keeps a generated key
file under VAR_DIR, like SECRET_KEY, so ``make demo`` needs nothing set. A file written by
someone without the key, or changed on disk, fails to open instead of being served.
"""

import base64
import binascii
import os
import secrets
from functools import cache
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible
from django.utils.module_loading import import_string

MAGIC = b"RPV1"  # format tag: a future key rotation or cipher change gets a new tag
_NONCE_BYTES = 12


class VaultError(Exception):
    """The data key is unusable or a stored file does not decrypt (tampered or foreign)."""


def _key_from_text(text: str, origin: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as err:
        raise VaultError(f"{origin} is not URL-safe base64") from err
    if len(key) != 32:
        raise VaultError(f"{origin} must hold 32 bytes (AES-256), not {len(key)}")
    return key


@cache
def data_key() -> bytes:
    text = os.environ.get("PORTAL_DATA_KEY", "")
    if text:
        return _key_from_text(text, "PORTAL_DATA_KEY")
    path = settings.VAR_DIR / "data_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        path.chmod(0o600)
    return _key_from_text(path.read_text(), str(path))


def seal(plaintext: bytes, *, label: str = "") -> bytes:
    """Encrypt; ``label`` (the storage name) is bound as associated data, so a sealed file
    moved to another name no longer opens."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return MAGIC + nonce + AESGCM(data_key()).encrypt(nonce, plaintext, label.encode())


def unseal(sealed: bytes, *, label: str = "") -> bytes:
    if not sealed.startswith(MAGIC):
        raise VaultError("the stored file is not sealed by this portal")
    nonce = sealed[len(MAGIC) : len(MAGIC) + _NONCE_BYTES]
    try:
        return AESGCM(data_key()).decrypt(nonce, sealed[len(MAGIC) + _NONCE_BYTES :], label.encode())
    except InvalidTag as err:
        raise VaultError(
            "the stored file does not decrypt: it was changed or sealed with another key"
        ) from err


@deconstructible
class NoDirectAccess(NotImplementedError):
    """A sealed file asked for by URL or filesystem path: refused by design, not unfinished.

    Django's storage contract says "this storage has no URLs / no local paths" with
    ``NotImplementedError`` (callers such as ``collectstatic`` catch exactly that), so the refusal
    is one; files are read only through ``open()``, which decrypts, behind views that check
    permission and audit the download."""


class EncryptedStorage(Storage):
    """A storage that encrypts every file it saves into ``inner`` and decrypts on open."""

    def __init__(self, inner: dict[str, Any] | None = None) -> None:
        inner = inner or {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {}}
        self.inner: Storage = import_string(inner["BACKEND"])(**inner.get("OPTIONS", {}))

    def _save(self, name: str, content: File) -> str:
        content.seek(0)
        plaintext = content.read()
        if isinstance(plaintext, str):
            plaintext = plaintext.encode()
        return self.inner.save(name, ContentFile(seal(plaintext, label=name)))

    def _open(self, name: str, mode: str = "rb") -> File:
        with self.inner.open(name, "rb") as handle:
            sealed = handle.read()
        return ContentFile(unseal(sealed, label=name), name=name)

    def delete(self, name: str) -> None:
        self.inner.delete(name)

    def exists(self, name: str) -> bool:
        return self.inner.exists(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self.inner.listdir(path)

    def size(self, name: str) -> int:
        return self.inner.size(name) - len(MAGIC) - _NONCE_BYTES - 16

    def url(self, name: str | None) -> str:
        # Files are served only through views that check permission and audit the download.
        raise NoDirectAccess("sealed files have no public URL")

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return self.inner.get_available_name(name, max_length=max_length)

    def path(self, name: str) -> str:
        raise NoDirectAccess("sealed files are read through open(), never from a path")


def read_sealed(storage: Storage, name: str) -> bytes:
    with storage.open(name, "rb") as handle:
        data: bytes = handle.read()
    return data


def write_sealed(storage: Storage, name: str, data: bytes | IO[bytes]) -> str:
    """Write ``data`` at exactly ``name`` (replacing a leftover of a killed attempt)."""
    if storage.exists(name):
        storage.delete(name)
    payload = data if isinstance(data, bytes) else data.read()
    return storage.save(name, ContentFile(payload))

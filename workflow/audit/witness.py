"""Where checkpoints are kept outside the database (DESIGN §4).

A Django storage: the local AUDIT_WITNESS_DIR by default, or the STORAGES alias named by
AUDIT_WITNESS_STORAGE (object storage with write-once retention, in production). Witness files
are written once and never overwritten.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages

PREFIX = "checkpoints"


def witness_storage() -> Storage:
    if settings.AUDIT_WITNESS_STORAGE:
        return storages[settings.AUDIT_WITNESS_STORAGE]
    return FileSystemStorage(location=settings.AUDIT_WITNESS_DIR)


def witness_name(number: int) -> str:
    return f"{PREFIX}/{number:012d}.json"


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint as the witness holds it: the signed text, its signature, the signer."""

    statement: str
    signature: str
    certificate: str

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.statement)
        return body

    def to_json(self) -> dict[str, str]:
        return {"statement": self.statement, "signature": self.signature, "certificate": self.certificate}

    @classmethod
    def from_json(cls, value: Any) -> "SignedCheckpoint":
        if not isinstance(value, dict) or not all(
            isinstance(value.get(k), str) for k in ("statement", "signature", "certificate")
        ):
            raise ValueError("not a signed checkpoint")
        return cls(value["statement"], value["signature"], value["certificate"])


class WitnessConflict(Exception):
    """A witness file of that number exists already; it is never overwritten."""


def write_checkpoint(number: int, signed: SignedCheckpoint, storage: Storage | None = None) -> str:
    storage = storage or witness_storage()
    name = witness_name(number)
    if storage.exists(name):
        raise WitnessConflict(f"the witness already holds checkpoint {number}")
    content = json.dumps(signed.to_json(), ensure_ascii=False, indent=1).encode()
    saved = storage.save(name, ContentFile(content))
    if saved != name:  # a racing writer took the name between exists() and save()
        storage.delete(saved)
        raise WitnessConflict(f"the witness already holds checkpoint {number}")
    return name


def read_checkpoints(storage: Storage | None = None) -> list[tuple[str, SignedCheckpoint | None]]:
    """Every witness file in name (= number) order; None where a file is not a signed checkpoint."""
    storage = storage or witness_storage()
    try:
        _dirs, files = storage.listdir(PREFIX)
    except FileNotFoundError:
        return []
    found: list[tuple[str, SignedCheckpoint | None]] = []
    for filename in sorted(f for f in files if f.endswith(".json")):
        name = f"{PREFIX}/{filename}"
        with storage.open(name, "rb") as handle:
            raw = handle.read()
        try:
            found.append((name, SignedCheckpoint.from_json(json.loads(raw))))
        except ValueError:
            found.append((name, None))
    return found

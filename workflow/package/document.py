"""What a package says, as plain data: built by the pipeline from the order, the extraction
manifest and the audit trail, and turned into a PDF by ``render`` (which knows no models)."""

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ScopeLine:
    """One scoped customer: what the order asked, what the package holds, what was left out."""

    customer_key: str
    requested: list[str]
    produced: list[tuple[str, int]]  # (category, rows)
    date_from: dt.date
    date_to: dt.date
    exclusions: list[tuple[str, str]]  # (category, reason code: credentials/third_party/not_scoped)


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    customer_key: str
    category: str
    fmt: str
    rows: int
    sha256: str
    size: int


@dataclass(frozen=True)
class PrintedTable:
    """The printed extract of one customer × category (the first rows; all are attached)."""

    customer_key: str
    category: str
    attachment: str
    columns: list[str]
    rows: list[list[str]]
    total_rows: int


@dataclass(frozen=True)
class CustodyEvent:
    seq: int
    occurred_at: dt.datetime
    action: str
    actor: str
    hash: str


@dataclass(frozen=True)
class AttachedFile:
    name: str
    path: Path
    description: str
    # A zlib (FlateDecode) copy written while the file was extracted, and the file's MD5: when
    # given, it is embedded as is instead of the file being read and compressed again.
    deflated: Path | None = None
    md5: str = ""


@dataclass(frozen=True)
class PackageDocument:
    language: str
    package_id: str
    store_name: str
    authority_name: str
    instrument: str
    authority_reference: str
    order_reference: str
    issued_on: dt.date
    received_on: dt.date
    generated_at: dt.datetime
    requested_from: dt.date
    requested_to: dt.date
    scope: list[ScopeLine]
    manifest: list[ManifestEntry]
    custody: list[CustodyEvent]
    attachments: list[AttachedFile]
    tables: list[PrintedTable] = field(default_factory=list)
    third_party_justification: str = ""
    # "disclosure" (to an authority) or "access" (a customer's own data, addressed to them):
    # chooses the wording (``wording.package_wording``), not the layout.
    variant: str = "disclosure"
    verify_url: str = ""  # where anyone holding the file can verify it (said in an access letter)

    @property
    def no_data(self) -> bool:
        return all(entry.rows == 0 for entry in self.manifest)

"""What goes into a package, gathered from the order, the extraction and the audit trail."""

import csv
import dataclasses
import datetime as dt
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone

from workflow.audit.trail import stream_for
from workflow.choices import NEEDS_JUSTIFICATION, NEVER_DISCLOSED
from workflow.models import AuditEvent, DisclosureOrder, Package

from .document import AttachedFile, CustodyEvent, ManifestEntry, PackageDocument, PrintedTable, ScopeLine
from .verify import MANIFEST_NAME


class ExtractedFileLike(Protocol):
    """One extracted file, as ``workflow.extraction.ExtractedFile`` describes it."""

    @property
    def customer_key(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def fmt(self) -> str: ...
    @property
    def relpath(self) -> str: ...
    @property
    def rows(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...


class ExtractionManifest(Protocol):
    """What the build needs of ``workflow.extraction.Manifest`` (any extractor may provide it)."""

    @property
    def files(self) -> Sequence[ExtractedFileLike]: ...


@dataclass
class _EmptyManifest:
    files: list[ExtractedFileLike] = field(default_factory=list)


def empty_manifest() -> ExtractionManifest:
    return _EmptyManifest()


def manifest_entries(manifest: ExtractionManifest) -> list[ManifestEntry]:
    return [
        ManifestEntry(f.relpath, f.customer_key, f.category, f.fmt, f.rows, f.sha256, f.size)
        for f in manifest.files
    ]


def write_manifest_json(
    order: DisclosureOrder, package: Package, manifest: ExtractionManifest, out_dir: Path
) -> Path:
    """manifest.json: the machine-readable list of attachments the verifier checks."""
    body = {
        "package_id": package.package_id,
        "order_reference": order.reference,
        "authority_reference": order.authority_reference,
        "scope_revision": package.scope_revision,
        "generated_at": timezone.now().astimezone(dt.UTC).isoformat(),
        "files": [
            {
                "name": e.name,
                "customer_key": e.customer_key,
                "category": e.category,
                "format": e.fmt,
                "rows": e.rows,
                "sha256": e.sha256,
                "size": e.size,
            }
            for e in manifest_entries(manifest)
        ],
    }
    path = out_dir / MANIFEST_NAME
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    return path


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _first_rows(path: Path, fmt: str, limit: int) -> tuple[list[str], list[list[str]]]:
    """The header and first ``limit`` rows of an extracted file, read as a stream."""
    if fmt == "jsonl":
        with path.open(encoding="utf-8") as handle:
            records = [json.loads(line) for line in itertools.islice(handle, limit) if line.strip()]
        columns: list[str] = []
        for record in records:
            columns += [k for k in record if k not in columns]
        return columns, [[_cell(record.get(c)) for c in columns] for record in records]
    with path.open(encoding="utf-8", newline="") as handle:
        reader: Iterator[list[str]] = csv.reader(handle)
        header = next(reader, [])
        return header, [[_cell(v) for v in row] for row in itertools.islice(reader, limit)]


def printed_tables(manifest: ExtractionManifest, out_dir: Path, limit: int) -> list[PrintedTable]:
    """One table per customer × category, printed from its JSON file (else its CSV)."""
    chosen: dict[tuple[str, str], ExtractedFileLike] = {}
    for f in manifest.files:
        key = (f.customer_key, f.category)
        if key not in chosen or (f.fmt == "jsonl" and chosen[key].fmt != "jsonl"):
            chosen[key] = f
    tables = []
    for (customer_key, category), f in chosen.items():
        columns, rows = _first_rows(out_dir / f.relpath, f.fmt, limit) if f.rows else ([], [])
        tables.append(PrintedTable(customer_key, category, f.relpath, columns, rows, f.rows))
    return tables


def produced_rows(manifest: ExtractionManifest) -> dict[tuple[str, str], int]:
    """Rows per customer × category (a category's JSON and CSV files hold the same rows)."""
    produced: dict[tuple[str, str], int] = {}
    for f in manifest.files:
        produced[(f.customer_key, f.category)] = max(produced.get((f.customer_key, f.category), 0), f.rows)
    return produced


def scope_lines(order: DisclosureOrder, manifest: ExtractionManifest) -> list[ScopeLine]:
    produced = produced_rows(manifest)
    requested = list(order.categories_requested)
    lines = []
    for item in order.scope_items.all():
        exclusions = []
        for category in requested:
            if category in item.categories:
                continue
            if category in NEVER_DISCLOSED:
                exclusions.append((category, "credentials"))
            elif category in NEEDS_JUSTIFICATION and not order.third_party_justification.strip():
                exclusions.append((category, "third_party"))
            else:
                exclusions.append((category, "not_scoped"))
        lines.append(
            ScopeLine(
                customer_key=item.customer_key,
                requested=requested,
                produced=[(c, produced.get((item.customer_key, c), 0)) for c in item.categories],
                date_from=item.date_from,
                date_to=item.date_to,
                exclusions=exclusions,
            )
        )
    return lines


def custody_events(order: DisclosureOrder) -> list[CustodyEvent]:
    return [
        CustodyEvent(e.seq, e.occurred_at, e.action, e.actor, e.hash)
        for e in AuditEvent.objects.filter(stream=stream_for(order)).order_by("seq")
    ]


def preliminary_document(order: DisclosureOrder, package: Package) -> PackageDocument:
    """The package's document as far as it is known before the extraction: everything but the
    scope's produced rows, the manifest, the attachments and the printed tables. What the
    build renders ahead (the chain of custody) is made from it."""
    language = order.language
    return PackageDocument(
        language=language,
        package_id=package.package_id,
        store_name=settings.STORE_NAME_FA if language == "fa" else settings.STORE_NAME,
        authority_name=order.authority.display_name(language),
        instrument=order.instrument,
        authority_reference=order.authority_reference,
        order_reference=order.reference,
        issued_on=order.issued_on,
        received_on=order.received_on,
        generated_at=timezone.now(),
        requested_from=order.requested_from,
        requested_to=order.requested_to,
        scope=[],
        manifest=[],
        custody=custody_events(order),
        attachments=[],
        third_party_justification=order.third_party_justification,
    )


def package_document(
    order: DisclosureOrder,
    package: Package,
    manifest: ExtractionManifest,
    out_dir: Path,
    manifest_path: Path,
    *,
    printed_rows: int | None = None,
) -> PackageDocument:
    entries = manifest_entries(manifest)
    # An extractor may have written deflated copies as it streamed (workflow.extraction does).
    copies = {f.relpath: (getattr(f, "deflated", None), getattr(f, "md5", "")) for f in manifest.files}
    attachments = [
        AttachedFile(
            e.name,
            out_dir / e.name,
            f"{e.customer_key} {e.category} ({e.fmt})",
            *copies.get(e.name, (None, "")),
        )
        for e in entries
    ]
    attachments.append(AttachedFile(MANIFEST_NAME, manifest_path, "manifest"))
    return dataclasses.replace(
        preliminary_document(order, package),  # the trail as it is now, after the extraction
        scope=scope_lines(order, manifest),
        manifest=entries,
        attachments=attachments,
        tables=printed_tables(manifest, out_dir, printed_rows or settings.PACKAGE_PRINTED_ROWS),
    )

"""Scoped extraction (DESIGN §1 export, §3 attachments): for each matched customer of an approved
scope, the rows of each category within the date range, streamed from the store into one JSON
Lines and one CSV file per customer and category, and a manifest of them (rows, SHA-256, bytes).

Rules enforced here, whoever calls: credentials are never extracted (refused, even if asked);
third-party recipients only with the recorded justification; CSV cells that would run as formulas
are neutralised; the output appears at ``out_dir`` only once complete (it is built in a temporary
directory beside it and renamed), so a failure never leaves output that looks finished.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from workflow.choices import NEEDS_JUSTIFICATION, NEVER_DISCLOSED, DataCategory
from workflow.datamap import DataMap, Source, configured_datamap
from workflow.datamap.connect import (
    POSTGRESQL,
    SQLITE,
    SourceUnavailable,
    StoreConnection,
    connect,
    dialect_of,
)
from workflow.datamap.sql import rows_query
from workflow.errors import DomainError, InvalidInput

from .postgresql import SORT_MEMORY, renders, stream_postgresql
from .streams import (
    DEFAULT_FETCH_SIZE,
    StreamStats,
    enter_together,
    fetch_batches,
    open_cursor,
    stream_portable,
)
from .writers import CsvOut, HashedFile, json_safe

MANIFEST_NAME = "manifest.json"


class ExtractionFailed(DomainError):
    """A source failed mid-extraction; nothing was left at the output path."""

    code = "extraction_failed"
    http_status = 503


@dataclass(frozen=True)
class ScopeRequest:
    """One matched customer in an approved scope."""

    customer_key: str  # "<source>:<customer pk>" (ScopeItem.customer_key)
    categories: Sequence[str]  # DataCategory values
    date_from: dt.date
    date_to: dt.date


@dataclass(frozen=True)
class ExtractedFile:
    customer_key: str
    category: str
    fmt: str  # "jsonl" | "csv"
    relpath: str
    rows: int
    sha256: str
    size: int
    # Where a deflated copy was written (``extract_scope(deflate_dir=…)``), with the MD5 of the
    # file: not part of manifest.json, the package embeds the copy as is.
    deflated: Path | None = field(default=None, compare=False)
    md5: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_key": self.customer_key,
            "category": self.category,
            "format": self.fmt,
            "path": self.relpath,
            "rows": self.rows,
            "sha256": self.sha256,
            "bytes": self.size,
        }


@dataclass(frozen=True)
class Manifest:
    files: list[ExtractedFile]
    scope: list[dict[str, Any]] = field(default_factory=list)
    third_party_justified: bool = False
    # Not part of manifest.json: how much the streaming held at its peak (tests and benchmarks).
    stats: StreamStats = field(default_factory=StreamStats, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """What manifest.json holds."""
        return {
            "version": 1,
            "scope": self.scope,
            "third_party_justified": self.third_party_justified,
            "files": [f.to_dict() for f in self.files],
        }

    def rows_for(self, customer_key: str, category: str) -> int:
        for f in self.files:
            if f.customer_key == customer_key and f.category == category and f.fmt == "jsonl":
                return f.rows
        return 0


def customer_dirname(customer_key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", customer_key)


_CATEGORY_ORDER = {value: index for index, value in enumerate(DataCategory.values)}


def _check_requests(requests: Sequence[ScopeRequest], datamap: DataMap, justification: str) -> None:
    """Refuse the whole extraction before anything is read or written."""
    keys = [r.customer_key for r in requests]
    if len(keys) != len(set(keys)):
        raise InvalidInput(_("A customer appears twice in the extraction."))
    for request in requests:
        datamap.customer(request.customer_key)  # an unknown source raises, naming it
        unknown = set(request.categories) - set(DataCategory.values)
        if unknown:
            raise InvalidInput(_("Unknown data category: %(c)s.") % {"c": ", ".join(sorted(unknown))})
        if set(request.categories) & NEVER_DISCLOSED:
            raise InvalidInput(_("Credentials are never extracted."))
        if set(request.categories) & NEEDS_JUSTIFICATION and not justification.strip():
            raise InvalidInput(
                _("Third-party recipient data is extracted only with a recorded justification.")
            )
        if request.date_from > request.date_to:
            raise InvalidInput(
                _("%(key)s: the date range ends before it starts.") % {"key": request.customer_key}
            )


def _begin_snapshot(conn: StoreConnection, *, share_with: StoreConnection | None = None) -> None:
    """One consistent view of the store for the whole extraction; on PostgreSQL, ``share_with``
    (the second lane's connection) is given the very same snapshot."""
    if conn.dialect is POSTGRESQL:
        import psycopg
        import psycopg.sql

        conn.raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        if share_with is not None:
            share_with.raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            with conn.raw.cursor() as cursor:
                cursor.execute("SELECT pg_export_snapshot()")
                (snapshot,) = cursor.fetchone()
            with share_with.raw.cursor() as cursor:
                cursor.execute(
                    psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg.sql.Literal(snapshot))
                )
        for session in (conn, share_with):
            if session is not None:
                with session.raw.cursor() as cursor:
                    # A lane's rows are sorted by chunk before they are rendered: in memory, not
                    # through temporary files (the default 4 MB holds ~15,000 access-log rows).
                    # No parallel workers: the lanes are the extraction's parallelism, and each
                    # lane's plan is one process (postgresql.py relies on it for its order).
                    cursor.execute(f"SET LOCAL work_mem = '{SORT_MEMORY}'")
                    cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    elif conn.dialect is SQLITE:
        conn.raw.execute("BEGIN")
    else:
        conn.raw.cursor().execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")


def _extract_category(
    conn: StoreConnection,
    source: Source,
    request: ScopeRequest,
    category: str,
    base: Path,
    *,
    fetch_size: int,
    stats: StreamStats,
    use_copy: bool,
    lane: StoreConnection | None = None,
    deflate_dir: Path | None = None,
) -> list[ExtractedFile]:
    _, customer_pk = request.customer_key.split(":", 1)
    folder = customer_dirname(request.customer_key)
    (base / folder).mkdir(exist_ok=True)
    if deflate_dir is not None:
        (deflate_dir / folder).mkdir(parents=True, exist_ok=True)
    header = ["_table", *source.category_columns(category)]
    rows = 0

    def deflated(name: str) -> Path | None:
        return deflate_dir / folder / name if deflate_dir is not None else None

    with (
        HashedFile(base / folder / f"{category}.jsonl", deflated(f"{category}.jsonl")) as jsonl,
        HashedFile(base / folder / f"{category}.csv", deflated(f"{category}.csv")) as csv_file,
    ):
        csv_out = CsvOut(csv_file, header)
        for table in source.tables_with(category):
            common: dict[str, Any] = {
                "customer_pk": customer_pk,
                "date_from": request.date_from,
                "date_to": request.date_to,
                "jsonl": jsonl,
                "stats": stats,
            }
            if use_copy and renders(conn, source, table, category):
                conns = [conn] if lane is None else [conn, lane]
                rows += stream_postgresql(conns, source, table, category, header, csv_file=csv_file, **common)
            else:
                rows += stream_portable(
                    conn, source, table, category, header, fetch_size=fetch_size, csv_out=csv_out, **common
                )
    return [
        ExtractedFile(
            request.customer_key,
            category,
            fmt,
            f"{folder}/{category}.{fmt}",
            rows,
            f.sha256,
            f.size,
            deflated=f.deflated,
            md5=f.md5,
        )
        for fmt, f in (("jsonl", jsonl), ("csv", csv_file))
    ]


def _prepare_out_dir(out_dir: Path) -> Path:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InvalidInput(
            _("The output directory %(dir)s already exists and is not empty.") % {"dir": out_dir}
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))


def _open_source(
    stack: ExitStack, source: Source, *, with_lane: bool
) -> tuple[StoreConnection, StoreConnection | None]:
    """The source's connection and, with ``with_lane``, its second lane's, opened at the same
    time (each waits for a server process to start), both closed with ``stack``. When both fail,
    the first one's error is raised."""
    opened = enter_together(
        stack,
        [
            connect(source.database_url, source_name=source.name, display_url=source.display_url)
            for _connection in range(2 if with_lane else 1)
        ],
    )
    return opened[0], opened[1] if with_lane else None


def extract_scope(
    requests: Sequence[ScopeRequest],
    *,
    out_dir: Path,
    third_party_justification: str = "",
    progress: Callable[[int, int], None] | None = None,
    datamap: DataMap | None = None,
    fetch_size: int = DEFAULT_FETCH_SIZE,
    use_copy: bool = True,
    parallel: bool = True,
    deflate_dir: Path | None = None,
) -> Manifest:
    """Extract every request into ``out_dir`` (created; must not hold anything yet) and return
    the manifest, also written there as manifest.json. ``use_copy=False`` forces the portable
    cursor path on PostgreSQL too; ``parallel=False`` renders on one server process instead of
    two (a second connection on the same snapshot). ``deflate_dir`` (outside ``out_dir``) also
    receives a zlib copy of every file, at the same relative path, written as it streams."""
    datamap = datamap or configured_datamap()
    _check_requests(requests, datamap, third_party_justification)
    out_dir = Path(out_dir)
    partial = _prepare_out_dir(out_dir)
    stats = StreamStats()
    files: list[ExtractedFile] = []
    total = sum(len(set(r.categories)) for r in requests)
    done = 0
    try:
        with ExitStack() as stack:
            connections: dict[str, StoreConnection] = {}
            lanes: dict[str, StoreConnection] = {}
            for request in requests:
                source, _pk = datamap.customer(request.customer_key)
                if source.name not in connections:
                    # Half the chunks of a big table are rendered by a second server process on
                    # the same snapshot, while the first renders the other half (the other core).
                    with_lane = use_copy and parallel and dialect_of(source.database_url) is POSTGRESQL
                    conn, lane_conn = _open_source(stack, source, with_lane=with_lane)
                    if lane_conn is not None:
                        lanes[source.name] = lane_conn
                    _begin_snapshot(conn, share_with=lane_conn)
                    connections[source.name] = conn
                conn = connections[source.name]
                for category in sorted(set(request.categories), key=_CATEGORY_ORDER.__getitem__):
                    try:
                        files += _extract_category(
                            conn,
                            source,
                            request,
                            category,
                            partial,
                            fetch_size=fetch_size,
                            stats=stats,
                            use_copy=use_copy and conn.dialect is POSTGRESQL,
                            lane=lanes.get(source.name),
                            deflate_dir=deflate_dir,
                        )
                    except (OSError, DomainError):
                        raise
                    except Exception as err:  # the driver's error, named with where it happened
                        raise ExtractionFailed(
                            _("The store source “%(source)s” failed while extracting %(category)s: %(error)s")
                            % {
                                "source": source.name,
                                "category": category,
                                "error": str(err).strip().splitlines()[0],
                            }
                        ) from err
                    done += 1
                    if progress is not None:
                        progress(done, total)
        manifest = Manifest(
            files=files,
            scope=[
                {
                    "customer_key": r.customer_key,
                    "categories": sorted(set(r.categories), key=_CATEGORY_ORDER.__getitem__),
                    "date_from": r.date_from.isoformat(),
                    "date_to": r.date_to.isoformat(),
                }
                for r in requests
            ],
            third_party_justified=bool(third_party_justification.strip()),
            stats=stats,
        )
        (partial / MANIFEST_NAME).write_text(
            json.dumps(manifest.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        if out_dir.exists():
            out_dir.rmdir()  # empty, checked above
        partial.rename(out_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def iter_rows(
    customer_key: str,
    category: str,
    date_from: dt.date,
    date_to: dt.date,
    *,
    limit: int | None = None,
    datamap: DataMap | None = None,
    fetch_size: int = DEFAULT_FETCH_SIZE,
) -> Iterator[dict[str, Any]]:
    """Rows as dicts (``_table`` and column -> JSON-safe value), for the package's printed tables.
    The same rows, in the same order, as the category's JSON Lines file."""
    if category in NEVER_DISCLOSED:
        raise InvalidInput(_("Credentials are never extracted."))
    if category not in DataCategory.values:
        raise InvalidInput(_("Unknown data category: %(c)s.") % {"c": category})
    datamap = datamap or configured_datamap()
    source, customer_pk = datamap.customer(customer_key)
    remaining = limit
    with connect(source.database_url, source_name=source.name, display_url=source.display_url) as conn:
        for table in source.tables_with(category):
            if remaining is not None and remaining <= 0:
                return
            columns = table.columns_of(category)
            query = rows_query(
                source,
                table,
                columns,
                conn.dialect,
                customer_pk=customer_pk,
                date_from=date_from,
                date_to=date_to,
            )
            cursor = open_cursor(conn, server_side=True)
            try:
                cursor.execute(query.sql, query.params)
                for batch in fetch_batches(cursor, fetch_size):
                    for raw in batch:
                        yield {
                            "_table": table.name,
                            **{c: json_safe(v) for c, v in zip(columns, raw, strict=True)},
                        }
                        if remaining is not None:
                            remaining -= 1
                            if remaining <= 0:
                                return
            finally:
                cursor.close()


__all__ = [
    "ExtractedFile",
    "ExtractionFailed",
    "Manifest",
    "ScopeRequest",
    "SourceUnavailable",
    "extract_scope",
    "iter_rows",
]

"""Streaming one table's rows of one category for one customer into the open output files.

Two paths, one result, byte for byte:
- the portable path (SQLite, MySQL/MariaDB, and PostgreSQL tables of other column types): the
  driver's cursor, ``fetchmany`` a batch at a time; each batch is serialised and written before
  the next is fetched. It is the reference for what the files hold;
- PostgreSQL's fastest path (``postgresql.py``): the server renders chunks of both files in one
  scan and streams them with ``COPY … TO STDOUT``; Python only hashes and writes the bytes.
Either way, what is held in memory is one batch (rows) or one chunk per lane (bytes), never the
table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

from django.utils import translation

from workflow.datamap.connect import StoreConnection
from workflow.datamap.model import Source, Table
from workflow.datamap.sql import rows_query

from .writers import CsvOut, HashedFile, encode_json

DEFAULT_FETCH_SIZE = 2000

T = TypeVar("T")


def enter_together(stack: ExitStack, managers: Sequence[AbstractContextManager[T]]) -> list[T]:
    """Every one of ``managers`` entered at the same time (the first here, the others in
    threads), for entering may wait on a server: for its process to start (a connection), for
    its first row (a COPY, after its sort). Each that was entered is exited with ``stack``,
    whatever happened to the others; when some fail, the first's error is raised, else the first
    other's, in the caller's language."""
    if len(managers) == 1:
        return [stack.enter_context(managers[0])]
    language = translation.get_language()

    def enter(manager: AbstractContextManager[T]) -> T:
        with translation.override(language):
            return manager.__enter__()

    with ThreadPoolExecutor(max_workers=len(managers) - 1, thread_name_prefix="extraction") as pool:
        others = [pool.submit(enter, manager) for manager in managers[1:]]
        try:
            first = stack.enter_context(managers[0])
        finally:
            for manager, future in zip(managers[1:], others, strict=True):
                if future.exception() is None:
                    stack.push(manager.__exit__)
        return [first, *(future.result() for future in others)]


@dataclass
class StreamStats:
    """What the streaming held at its peak: the proof that memory stays flat."""

    peak_rows_held: int = 0
    peak_bytes_buffered: int = 0

    def held_rows(self, count: int) -> None:
        self.peak_rows_held = max(self.peak_rows_held, count)

    def buffered(self, size: int) -> None:
        self.peak_bytes_buffered = max(self.peak_bytes_buffered, size)


def fetch_batches(cursor: Any, fetch_size: int, stats: StreamStats | None = None) -> Iterator[list[Any]]:
    while True:
        batch = cursor.fetchmany(fetch_size)
        if not batch:
            return
        if stats is not None:
            stats.held_rows(len(batch))
        yield batch


def open_cursor(conn: StoreConnection, *, server_side: bool) -> Any:
    """A cursor that does not pull the whole result into the client: a named (server-side)
    cursor on PostgreSQL, an unbuffered one on MySQL; SQLite's cursor steps lazily already."""
    if conn.dialect.name == "postgresql" and server_side:
        return conn.raw.cursor(name="portal_extract")
    if conn.dialect.name == "mysql":
        import pymysql.cursors  # type: ignore[import-untyped]

        return conn.raw.cursor(pymysql.cursors.SSCursor)
    return conn.raw.cursor()


def stream_portable(
    conn: StoreConnection,
    source: Source,
    table: Table,
    category: str,
    header: list[str],
    *,
    customer_pk: str,
    date_from: dt.date,
    date_to: dt.date,
    jsonl: HashedFile,
    csv_out: CsvOut,
    fetch_size: int,
    stats: StreamStats,
) -> int:
    columns = table.columns_of(category)
    query = rows_query(
        source, table, columns, conn.dialect, customer_pk=customer_pk, date_from=date_from, date_to=date_to
    )
    name = table.name
    keys = ("_table", *columns)
    # The CSV header is the union of the category's columns over its tables; a table that has
    # them all, in order, is written as it comes.
    positions = [columns.index(column) if column in columns else None for column in header[1:]]
    same_layout = header[1:] == columns
    count = 0
    cursor = open_cursor(conn, server_side=True)
    try:
        cursor.execute(query.sql, query.params)
        for batch in fetch_batches(cursor, fetch_size, stats):
            # Per batch, not per row: one join, one encode, one write (the C encoder does the rest).
            lines = [encode_json(dict(zip(keys, (name, *raw), strict=True))) for raw in batch]
            jsonl.write(("\n".join(lines) + "\n").encode("utf-8"))
            if same_layout:
                csv_out.write_rows([(name, *raw) for raw in batch])
            else:
                csv_out.write_rows(
                    [(name, *[raw[p] if p is not None else None for p in positions]) for raw in batch]
                )
            count += len(batch)
    finally:
        cursor.close()
    return count

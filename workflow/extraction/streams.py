"""Streaming one table's rows of one category for one customer into the open output files.

Two paths, one result:
- the portable path (SQLite, MySQL/MariaDB): the driver's cursor, ``fetchmany`` a batch at a
  time; each batch is serialised and written before the next is fetched;
- PostgreSQL's fastest path: the server renders each row as JSON and as neutralised CSV and
  streams it with ``COPY … TO STDOUT``; Python only hashes and writes the bytes.
Either way, what is held in memory is one batch (rows) or one buffer (bytes), never the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from workflow.datamap.connect import StoreConnection
from workflow.datamap.model import Source, Table
from workflow.datamap.sql import rows_query

from .writers import CsvOut, HashedFile, encode_json

DEFAULT_FETCH_SIZE = 2000
COPY_BUFFER_BYTES = 256 * 1024
# PostgreSQL renders the JSON of this many rows as one value, so that the client handles ~100
# messages per 100,000 rows instead of one per row (the per-row cost was the bottleneck).
JSON_CHUNK_ROWS = 1000
_PG_INTEGER_OIDS = {20, 21, 23}
# PostgreSQL type OIDs of numbers and booleans: a leading "-" there is a sign, not a formula.
_PG_NUMERIC_OIDS = {16, 20, 21, 23, 26, 700, 701, 1700}


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


def _pg_column_oids(conn: StoreConnection, table: Table) -> dict[str, int]:
    """Column -> type OID, from the catalog once per connection."""
    key = ("pg_oids", table.name)
    if key not in conn.schema_cache:
        with conn.raw.cursor() as cursor:
            cursor.execute(
                "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0",
                (conn.dialect.quote(table.name),),
            )
            conn.schema_cache[key] = {name: int(oid) for name, oid in cursor.fetchall()}
    return conn.schema_cache[key]


def _pg_literal(name: str) -> str:
    # Table and column names are schema-checked identifiers ([A-Za-z0-9_]): safe as literals.
    return "'" + name + "'"


def _copy_to(
    conn: StoreConnection, sql: str, params: tuple[Any, ...], out: HashedFile, stats: StreamStats
) -> int:
    """Run one COPY … TO STDOUT into ``out``; returns the number of newline bytes seen."""
    newlines = 0
    buffer = bytearray()
    with conn.raw.cursor() as cursor, cursor.copy(sql, params) as copy:
        for chunk in copy:
            buffer += chunk
            if len(buffer) >= COPY_BUFFER_BYTES:
                stats.buffered(len(buffer))
                newlines += buffer.count(b"\n")
                out.write(buffer)
                buffer = bytearray()
    if buffer:
        stats.buffered(len(buffer))
        newlines += buffer.count(b"\n")
        out.write(buffer)
    return newlines


_PG_QUOTE_SAFE_OIDS = {1082, 1083, 1114, 1184}  # date, time, timestamp, timestamptz: nothing to escape


def _pg_json_value(expression: str, oid: int) -> str:
    """The JSON text of one value, rendered by the server. Numbers and booleans print as JSON
    already; dates and instants need only quotes; anything else goes through to_json (escaping)."""
    if oid in _PG_NUMERIC_OIDS:
        rendered = f"{expression}::text"
    elif oid in _PG_QUOTE_SAFE_OIDS:
        rendered = f"'\"' || {expression}::text || '\"'"
    else:
        rendered = f"to_json({expression})::text"
    return f"COALESCE({rendered}, 'null')"


def _pg_csv_cell(expression: str, oid: int) -> str:
    if oid in _PG_NUMERIC_OIDS or oid in _PG_QUOTE_SAFE_OIDS:
        return expression
    text = f"{expression}::text"
    # ascii() of the first character: = + - @ TAB CR (cheaper than taking a substring).
    return f"CASE WHEN ascii({text}) IN (61, 43, 45, 64, 9, 13) THEN '''' || {text} ELSE {text} END"


def _pg_csv_text(expression: str, oid: int) -> str:
    """One CSV cell as text rendered by the server, for chunked CSV: text always quoted (inner
    quotes doubled) and neutralised; numbers, dates and instants bare; NULL empty."""
    if oid in _PG_NUMERIC_OIDS or oid in _PG_QUOTE_SAFE_OIDS:
        rendered = f"{expression}::text"
    else:
        text = f"{expression}::text"
        prefix = f"CASE WHEN ascii({text}) IN (61, 43, 45, 64, 9, 13) THEN '''' ELSE '' END"
        rendered = "'\"' || " + prefix + " || replace(" + text + ", '\"', '\"\"') || '\"'"
    return f"COALESCE({rendered}, '')"


def _copy_chunks(
    conn: StoreConnection, sql: str, params: tuple[Any, ...], out: HashedFile, stats: StreamStats
) -> int:
    """A binary COPY of one bytea column of ready-made JSON Lines chunks; returns the lines."""
    lines = 0
    with conn.raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)", params) as copy:
        copy.set_types(["bytea"])
        for (chunk,) in copy.rows():
            stats.buffered(len(chunk))
            lines += chunk.count(b"\n")
            out.write(chunk)
    return lines


def stream_postgresql_copy(
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
    stats: StreamStats,
    csv_conn: StoreConnection | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> int:
    """Both files rendered by the server. With ``csv_conn`` (a second connection on the same
    snapshot) and ``pool``, the CSV COPY runs beside the JSON one."""
    q = conn.dialect.quote
    columns = table.columns_of(category)
    oids = _pg_column_oids(conn, table)
    members = ['\'{"_table": "' + table.name + "\"'"]
    for column in columns:
        members.append("', \"" + column + "\": '")
        members.append(_pg_json_value(f"t0.{q(column)}", oids[column]))
    members.append("'}'")
    line = " || ".join(members)
    chunked = oids.get(table.primary_key) in _PG_INTEGER_OIDS
    if chunked:
        pk = f"t0.{q(table.primary_key)}"
        select = [f"convert_to(string_agg({line} || E'\\n', '' ORDER BY {pk}), 'UTF8')"]
    else:
        select = [line]
    json_query = rows_query(
        source,
        table,
        columns,
        conn.dialect,
        customer_pk=customer_pk,
        date_from=date_from,
        date_to=date_to,
        select=select,
        chunk_rows=JSON_CHUNK_ROWS if chunked else None,
    )
    if chunked:
        texts = [_pg_literal(table.name)]
        for name in header[1:]:
            texts.append(_pg_csv_text(f"t0.{q(name)}", oids[name]) if name in columns else "''")
        csv_line = " || ',' || ".join(texts)
        cells = [f"convert_to(string_agg({csv_line} || E'\\n', '' ORDER BY {pk}), 'UTF8')"]
    else:
        cells = [_pg_literal(table.name)]
        for name in header[1:]:
            cells.append(_pg_csv_cell(f"t0.{q(name)}", oids[name]) if name in columns else "NULL")
    csv_query = rows_query(
        source,
        table,
        columns,
        conn.dialect,
        customer_pk=customer_pk,
        date_from=date_from,
        date_to=date_to,
        select=cells,
        chunk_rows=JSON_CHUNK_ROWS if chunked else None,
    )
    csv_copy: Any = _copy_chunks if chunked else _copy_to
    csv_sql = csv_query.sql if chunked else f"COPY ({csv_query.sql}) TO STDOUT WITH (FORMAT csv)"
    pending = None
    if csv_conn is not None and pool is not None:
        pending = pool.submit(csv_copy, csv_conn, csv_sql, csv_query.params, csv_out.target, stats)
    try:
        if chunked:
            rows = _copy_chunks(conn, json_query.sql, json_query.params, jsonl, stats)
        else:
            # CSV quoting with characters JSON never holds unescaped: the JSON text passes verbatim.
            rows = _copy_to(
                conn,
                f"COPY ({json_query.sql}) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')",
                json_query.params,
                jsonl,
                stats,
            )
    finally:
        # Never leave the CSV lane writing into a file its caller is about to close.
        if pending is not None:
            wait([pending])
    if pending is not None:
        pending.result()
    else:
        csv_copy(conn, csv_sql, csv_query.params, csv_out.target, stats)
    return rows

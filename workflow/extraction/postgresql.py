"""PostgreSQL renders the files itself: per run of ``CHUNK_ROWS`` keys, one string of JSON Lines
and one of CSV lines, from one scan, streamed by a binary ``COPY … TO STDOUT``; Python only
hashes and writes them.

The bytes are those the portable path writes for the same rows (``writers.encode_json`` and
``CsvOut``): that path is the reference, and every expression below mirrors one of its rules —
ISO 8601 instants with six-digit fractions, decimals of numbers only where Python prints numbers,
``True``/``False`` in the CSV, neutralised formula cells, and CSV quoting exactly where Python's
csv writer quotes. A table with a column of another type (numeric, float, json, arrays, bytea…)
or without an integer key is left to the portable path, on the same snapshot.

With two connections on one snapshot, the chunks are dealt alternately to two server processes
(the other core) and merged back in key order as they arrive: one chunk per lane is held.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from typing import Any

from workflow.datamap.connect import StoreConnection
from workflow.datamap.model import Source, Table
from workflow.datamap.sql import rows_query

from .streams import StreamStats
from .writers import FORMULA_STARTS, HashedFile, csv_writer

# Rows per chunk: ~100 COPY messages per 100,000 rows instead of one per row (the per-row cost
# was the bottleneck), and a chunk of a few hundred kilobytes is all a lane holds.
CHUNK_ROWS = 1000

# PostgreSQL type OIDs rendered by the server, by how psycopg hands them to the portable path.
_INTEGERS = {20, 21, 23}  # int8, int2, int4 -> int
_BOOL = 16  # -> bool
_TEXTS = {25, 1043}  # text, varchar -> str
_UUID = 2950  # -> uuid.UUID
_DATE = 1082  # -> datetime.date
_TIMESTAMP = 1114  # -> naive datetime.datetime
_TIMESTAMPTZ = 1184  # -> aware datetime.datetime, in the session's time zone
RENDERED_TYPES = frozenset(_INTEGERS | _TEXTS | {_BOOL, _UUID, _DATE, _TIMESTAMP, _TIMESTAMPTZ})

_FORMULA_CODES = ", ".join(str(ord(start)) for start in FORMULA_STARTS)


def _csv_quoted_characters() -> str:
    """The characters that make the portable path's csv writer quote a cell, asked of the writer
    itself: Python 3.11 leaves a bare carriage return unquoted when rows end in "\\n"."""
    found = ""
    for character in ',"\n\r':
        buffer = io.StringIO()
        csv_writer(buffer).writerow(["a" + character, "b"])
        if buffer.getvalue().startswith('"'):
            found += character
    return found


_CSV_QUOTED = _csv_quoted_characters()


def column_types(conn: StoreConnection, table: Table) -> dict[str, int]:
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


def renders(conn: StoreConnection, table: Table, category: str) -> bool:
    """Whether the server can render this table's rows of ``category`` byte for byte."""
    oids = column_types(conn, table)
    return oids.get(table.primary_key) in _INTEGERS and all(
        oids.get(column) in RENDERED_TYPES for column in table.columns_of(category)
    )


def _literal(text: str) -> str:
    # Table and column names are schema-checked identifiers ([A-Za-z0-9_]): safe inside quotes.
    if not text.replace("_", "").isalnum() or not text.isascii():
        raise ValueError(f"not an identifier: {text!r}")
    return "'" + text + "'"


def _iso_text(expression: str, oid: int, *, quoted: bool = False) -> str:
    """``isoformat()`` of a day or an instant (in double quotes, as JSON holds it, if ``quoted``).
    Whole seconds (nearly always) are to_json's ISO 8601 text, which is Python's; a fraction is
    printed with six digits, as Python does, where to_json trims trailing zeros."""
    plain = f"to_json({expression})::text" if quoted else f"btrim(to_json({expression})::text, '\"')"
    if oid == _DATE:
        return plain
    whole = f"{expression} = {expression}::{'timestamptz' if oid == _TIMESTAMPTZ else 'timestamp'}(0)"
    fraction = f"to_char({expression}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    if oid == _TIMESTAMPTZ:
        # The offset as to_json prints it ("+03:30", seconds when a zone has them), like Python.
        fraction += f" || substring(to_json({expression})::text from '([+-][0-9:]+)\"$')"
    if quoted:
        fraction = f"'\"' || {fraction} || '\"'"
    return f"CASE WHEN {whole} THEN {plain} ELSE {fraction} END"


def json_value(expression: str, oid: int) -> str:
    """The JSON text of one value as ``encode_json`` writes it (``json_safe`` for the rest)."""
    if oid in _INTEGERS or oid == _BOOL:
        rendered = f"{expression}::text"  # 42, -7, true, false
    elif oid in _TEXTS or oid == _UUID:
        # to_json escapes exactly what Python's encoder escapes with ensure_ascii=False:
        # " \\ \b \f \n \r \t, other control characters as \u00xx (lower-case hex).
        rendered = f"to_json({expression})::text"
    elif oid in (_DATE, _TIMESTAMP, _TIMESTAMPTZ):
        rendered = _iso_text(expression, oid, quoted=True)
    else:
        raise ValueError(f"type {oid} is rendered by the portable path")
    return f"COALESCE({rendered}, 'null')"


def csv_cell(expression: str, oid: int) -> str:
    """One CSV cell as ``CsvOut`` writes it: None empty, numbers bare, booleans True/False,
    days and instants in ISO 8601, text neutralised and quoted only where the writer quotes."""
    if oid in _INTEGERS or oid == _UUID:
        return f"COALESCE({expression}::text, '')"
    if oid == _BOOL:
        return f"CASE WHEN {expression} THEN 'True' WHEN NOT {expression} THEN 'False' ELSE '' END"
    if oid in (_DATE, _TIMESTAMP, _TIMESTAMPTZ):
        return f"COALESCE({_iso_text(expression, oid)}, '')"
    if oid not in _TEXTS:
        raise ValueError(f"type {oid} is rendered by the portable path")
    neutralised = (
        f"CASE WHEN ascii({expression}) IN ({_FORMULA_CODES}) THEN '''' || {expression} ELSE {expression} END"
    )
    needs_quotes = " OR ".join(
        f"strpos({expression}, {_sql_char(character)}) > 0" for character in _CSV_QUOTED
    )
    return (
        f"CASE WHEN {expression} IS NULL THEN '' WHEN {needs_quotes} "
        f"THEN '\"' || replace({neutralised}, '\"', '\"\"') || '\"' ELSE {neutralised} END"
    )


def _sql_char(character: str) -> str:
    return {"\n": "E'\\n'", "\r": "E'\\r'", "'": "''''"}.get(character, f"'{character}'")


def chunk_queries(
    conn: StoreConnection,
    source: Source,
    table: Table,
    category: str,
    header: list[str],
    *,
    customer_pk: str,
    date_from: Any,
    date_to: Any,
    lanes: int,
) -> list[tuple[str, tuple[Any, ...]]]:
    """One ``COPY`` per lane: rows (chunk number, rows, JSON Lines bytes, CSV bytes)."""
    q = conn.dialect.quote
    columns = table.columns_of(category)
    oids = column_types(conn, table)
    json_parts = ['\'{"_table": "\' || ' + _literal(table.name) + " || '\"'"]
    for column in columns:
        json_parts += [f"', \"{_literal(column)[1:-1]}\": '", json_value(f"t0.{q(column)}", oids[column])]
    json_parts.append("'}'")
    csv_parts = [_literal(table.name)]
    for name in header[1:]:
        csv_parts.append(csv_cell(f"t0.{q(name)}", oids[name]) if name in columns else "''")
    pk = f"t0.{q(table.primary_key)}"
    json_line = " || ".join(json_parts)
    csv_line = " || ',' || ".join(csv_parts)
    select = [
        f"({pk} / {CHUNK_ROWS})::int8",
        "count(*)",
        f"convert_to(string_agg({json_line}, E'\\n' ORDER BY {pk}) || E'\\n', 'UTF8')",
        f"convert_to(string_agg({csv_line}, E'\\n' ORDER BY {pk}) || E'\\n', 'UTF8')",
    ]
    queries = []
    for lane in range(lanes):
        query = rows_query(
            source,
            table,
            columns,
            conn.dialect,
            customer_pk=customer_pk,
            date_from=date_from,
            date_to=date_to,
            select=select,
            chunk_rows=CHUNK_ROWS,
            lane=(lane, lanes),
        )
        queries.append((f"COPY ({query.sql}) TO STDOUT (FORMAT binary)", query.params))
    return queries


def _chunks(stack: ExitStack, conn: StoreConnection, sql: str, params: tuple[Any, ...]) -> Iterator[Any]:
    cursor = stack.enter_context(conn.raw.cursor())
    copy = stack.enter_context(cursor.copy(sql, params))
    copy.set_types(["int8", "int8", "bytea", "bytea"])
    return iter(copy.rows())


def stream_postgresql(
    conns: Sequence[StoreConnection],
    source: Source,
    table: Table,
    category: str,
    header: list[str],
    *,
    customer_pk: str,
    date_from: Any,
    date_to: Any,
    jsonl: HashedFile,
    csv_file: HashedFile,
    stats: StreamStats,
) -> int:
    """Both files of one table rendered by the server, on every connection of ``conns`` (one
    snapshot) at once; returns the rows written."""
    queries = chunk_queries(
        conns[0],
        source,
        table,
        category,
        header,
        customer_pk=customer_pk,
        date_from=date_from,
        date_to=date_to,
        lanes=len(conns),
    )
    rows = 0
    with ExitStack() as stack:
        lanes = [
            _chunks(stack, conn, sql, params) for conn, (sql, params) in zip(conns, queries, strict=True)
        ]
        # Merged back in key order: each lane's runs come in order, and runs never repeat.
        heads: dict[int, Any] = {}
        for index, lane in enumerate(lanes):
            head = next(lane, None)
            if head is not None:
                heads[index] = head
        while heads:
            index = min(heads, key=lambda i: heads[i][0])
            _run, count, json_bytes, csv_bytes = heads.pop(index)
            stats.buffered(max(len(json_bytes), len(csv_bytes)))
            jsonl.write(json_bytes)
            csv_file.write(csv_bytes)
            rows += count
            head = next(lanes[index], None)
            if head is not None:
                heads[index] = head
    return rows

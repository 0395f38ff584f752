"""PostgreSQL renders the files itself: per run of ``CHUNK_ROWS`` keys, one string of JSON Lines
and one of CSV lines, from one scan, streamed by a binary ``COPY … TO STDOUT``; Python only
hashes and writes them.

The bytes are those the portable path writes for the same rows (``writers.encode_json`` and
``CsvOut``, in the format ``writers`` describes): that path is the reference, and every
expression below mirrors one of its rules. The format is such that each value costs the server
one cheap expression: ``to_json`` prints JSON strings, and ISO 8601 days and instants (fractions
trimmed), exactly as Python's encoder and ``writers.iso_text`` do; a CSV field is quoted whenever
it is not a number, so the server never looks inside a text to decide (it doubles the quotes and
neutralises formula cells). A table with a column of another type (numeric, float, json,
arrays, bytea…) or without an integer key is left to the portable path, on the same snapshot.

With two connections on one snapshot, the chunks are dealt alternately to two server processes
(the other core) and merged back in key order as they arrive: one chunk per lane is held. A table
of a few hundred rows (``SINGLE_LANE_BYTES``) takes one lane: a second query would cost more.

A chunk is a run of ``CHUNK_ROWS`` keys while the customer's keys are dense enough, as a heavy
customer's are in a table of their own rows; where they are spread thinly through a table of
everyone's rows (an access log, keys in order of arrival), runs of keys would hold a row or two
each and every row would cost a chunk's overhead, so the chunks are then runs of ``CHUNK_ROWS``
rows by position in key order (``row_number()``), at the cost of one sort of the rows more
(``keys_spread``).

A lane's rows are sorted once by chunk and key, and each chunk's lines joined as they arrive,
where the plan shows that they arrive so (``_joins_in_sorted_order``, asked of the plan of each
lane's query before it runs): the aggregates' own ``ORDER BY`` would sort every chunk again,
once per file (PostgreSQL 15 does not see that its input is sorted already). Any other plan, and
a small table, keep that ``ORDER BY``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from workflow.datamap.connect import StoreConnection
from workflow.datamap.model import Source, Table
from workflow.datamap.sql import rows_query

from .streams import StreamStats, enter_together
from .writers import FORMULA_STARTS, HashedFile

# Rows per chunk: ~100 COPY messages per 100,000 rows instead of one per row (the per-row cost
# was the bottleneck), and a chunk of a few hundred kilobytes is all a lane holds.
CHUNK_ROWS = 1000

# The memory a sort of the extraction's transaction may take before it spills to temporary files
# (work_mem, 4 MB by default): the sort of a lane's rows by chunk, ~250 bytes a row.
SORT_MEMORY = "32MB"

# A table whose heap is at most this big (16 pages) is rendered on one lane: it holds a few
# hundred rows at most, for all customers together.
SINGLE_LANE_BYTES = 128 * 1024

# Runs of keys are used while at least this share of the keys between the customer's first and
# last are theirs (chunks of 100 rows or more on average); below it, runs of rows by position.
MIN_KEY_FILL = 0.1

# How many of the customer's rows ``keys_spread`` looks at.
SPREAD_SAMPLE = 1000

# ``rows_query``'s runs for "every row, in no particular order": one lane takes every run.
_EVERY_ROW = (CHUNK_ROWS, 0, 1)

# PostgreSQL type OIDs rendered by the server, by how psycopg hands them to the portable path.
_INTEGERS = {20, 21, 23}  # int8, int2, int4 -> int
_BOOL = 16  # -> bool
_TEXTS = {25, 1043}  # text, varchar -> str
_UUID = 2950  # -> uuid.UUID
_DATE = 1082  # -> datetime.date
_TIMESTAMP = 1114  # -> naive datetime.datetime
_TIMESTAMPTZ = 1184  # -> aware datetime.datetime, in the session's time zone
_QUOTELESS = {_UUID, _DATE, _TIMESTAMP, _TIMESTAMPTZ}  # their text never holds " or \ or controls
RENDERED_TYPES = frozenset(_INTEGERS | _TEXTS | _QUOTELESS | {_BOOL})

_FORMULA_CODES = ", ".join(str(ord(start)) for start in FORMULA_STARTS)


def _catalog(conn: StoreConnection, source: Source, table: Table) -> tuple[dict[str, int], int | None]:
    """The table's column -> type OID and its heap's size in bytes (None for a view or a
    partitioned table, whose rows are elsewhere), from the catalog once per connection: for every
    table of the source at the first ask (one round trip, not one per table)."""
    key = ("pg_catalog", table.name)
    if key not in conn.schema_cache:
        names = list(dict.fromkeys([*source.tables, table.name]))
        types: dict[str, dict[str, int]] = {name: {} for name in names}
        sizes: dict[str, int | None] = {}
        with conn.raw.cursor() as cursor:
            cursor.execute(
                "SELECT t.name, CASE WHEN c.relkind IN ('r', 'm') THEN pg_relation_size(c.oid) END, "
                "a.attname, a.atttypid FROM unnest(%s::text[], %s::text[]) AS t(name, quoted) "
                "JOIN pg_class c ON c.oid = to_regclass(t.quoted) "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0",
                (names, [conn.dialect.quote(name) for name in names]),
            )
            for name, size, column, oid in cursor.fetchall():
                types[name][column] = int(oid)
                sizes[name] = size
        for name in names:
            conn.schema_cache[("pg_catalog", name)] = (types[name], sizes.get(name))
    return conn.schema_cache[key]


def column_types(conn: StoreConnection, source: Source, table: Table) -> dict[str, int]:
    """Column -> type OID."""
    return _catalog(conn, source, table)[0]


def _small(conn: StoreConnection, source: Source, table: Table) -> bool:
    """Whether the table's whole heap holds a few hundred rows at most."""
    size = _catalog(conn, source, table)[1]
    return size is not None and size <= SINGLE_LANE_BYTES


def lanes_for(conn: StoreConnection, source: Source, table: Table, available: int) -> int:
    """How many lanes render the table: one for a small table (a run or two of keys), where a
    second query would cost more than its half saves."""
    return 1 if _small(conn, source, table) else available


def keys_spread(
    conn: StoreConnection, source: Source, table: Table, *, customer_pk: str, date_from: Any, date_to: Any
) -> bool:
    """Whether the customer's rows in the scope hold fewer than ``MIN_KEY_FILL`` of the keys
    between their first and last, judged on the first ``SPREAD_SAMPLE`` of them the server
    finds (an index's few pages, not a scan of all their rows: the question is asked before any
    row is rendered, while nothing else runs; a wrong guess costs time, never bytes). A small
    table is never asked: its runs are few whatever its keys."""
    if _small(conn, source, table):
        return False
    # Asked once per table and scope (a table may hold columns of several categories): the
    # answer holds for the whole extraction, which reads one snapshot.
    key = ("keys_spread", table.name, customer_pk, date_from, date_to)
    if key in conn.schema_cache:
        return bool(conn.schema_cache[key])
    pk = f"t0.{conn.dialect.quote(table.primary_key)}"
    sample = rows_query(
        source,
        table,
        [],
        conn.dialect,
        customer_pk=customer_pk,
        date_from=date_from,
        date_to=date_to,
        select=[f"{pk} AS k"],
        runs=_EVERY_ROW,
    )
    with conn.raw.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), min(s.k), max(s.k) FROM ({sample.sql} LIMIT {SPREAD_SAMPLE}) s",  # noqa: S608
            sample.params,
        )
        count, low, high = cursor.fetchone()
    spread = conn.schema_cache[key] = bool(count) and count < MIN_KEY_FILL * (high - low + 1)
    return spread


def renders(conn: StoreConnection, source: Source, table: Table, category: str) -> bool:
    """Whether the server can render this table's rows of ``category`` byte for byte."""
    oids = column_types(conn, source, table)
    return oids.get(table.primary_key) in _INTEGERS and all(
        oids.get(column) in RENDERED_TYPES for column in table.columns_of(category)
    )


def sends_utf8(conn: StoreConnection) -> bool:
    """Whether the server sends text to this connection as UTF-8 (its client encoding)."""
    return bool(conn.raw.info.encoding == "utf-8")


def _name(text: str) -> str:
    # Table and column names are schema-checked identifiers ([A-Za-z0-9_]): safe inside quotes,
    # SQL's and JSON's alike.
    if not text.replace("_", "").isalnum() or not text.isascii():
        raise ValueError(f"not an identifier: {text!r}")
    return text


def row_value(expression: str, oid: int) -> str:
    """What the row subquery selects for a column: a day, an instant or a UUID already as its
    JSON string, which is also its CSV field (it holds no quote), so that it is rendered once
    for both files; anything else as it is."""
    if oid in _QUOTELESS:
        # ISO 8601 (XSD style) in the session's time zone, the offset as Python prints it
        # ("+03:30", seconds when a zone has them), a fraction without trailing zeros.
        return f"to_json({expression})::text"
    return expression


def json_value(expression: str, oid: int) -> str:
    """The JSON text of one value (``row_value`` of its column) as ``encode_json`` writes it
    (``json_safe`` for the rest)."""
    if oid in _INTEGERS or oid == _BOOL:
        rendered = f"{expression}::text"  # 42, -7, true, false
    elif oid in _TEXTS:
        # to_json escapes exactly what Python's encoder escapes with ensure_ascii=False:
        # " \\ \b \f \n \r \t, other control characters as \u00xx (lower-case hex).
        rendered = f"to_json({expression})::text"
    elif oid in _QUOTELESS:
        rendered = expression
    else:
        raise ValueError(f"type {oid} is rendered by the portable path")
    return f"COALESCE({rendered}, 'null')"


def csv_cell(expression: str, oid: int) -> str:
    """One CSV field (of ``row_value`` of its column) as ``CsvOut`` writes it, with the comma
    before it: NULL empty, numbers bare, booleans True/False, anything else in double quotes. A
    day, an instant or a UUID holds no quote, so its JSON string is its field; a text is
    neutralised and its quotes doubled (its comma goes inside the COALESCE: one concatenation
    less per text and row)."""
    if oid in _INTEGERS:
        return f"',' || COALESCE({expression}::text, '')"
    if oid == _BOOL:
        return f"CASE WHEN {expression} THEN ',True' WHEN NOT {expression} THEN ',False' ELSE ',' END"
    if oid in _QUOTELESS:
        return f"',' || COALESCE({expression}, '')"
    if oid not in _TEXTS:
        raise ValueError(f"type {oid} is rendered by the portable path")
    neutralised = (
        f"CASE WHEN ascii({expression}) IN ({_FORMULA_CODES}) THEN '''' || {expression} ELSE {expression} END"
    )
    return f"COALESCE(',\"' || replace({neutralised}, '\"', '\"\"') || '\"', ',')"


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
    oids = column_types(conn, source, table)
    pk = f"t0.{q(table.primary_key)}"
    scope = {"customer_pk": customer_pk, "date_from": date_from, "date_to": date_to}
    by_position = keys_spread(conn, source, table, **scope)
    # The lane's rows, each value selected once (row_value) under a positional name, in a
    # subquery that its ORDER BY (or OFFSET 0) keeps from being merged into the aggregates:
    # merged, a day or an instant would be rendered twice, once per file. By position, the rows
    # are numbered first (every lane numbers them alike: one snapshot, unique keys) and a lane
    # keeps its runs.
    source_of = "r.v{index}" if by_position else "t0.{column}"
    row = ["r.k, r.n" if by_position else f"{pk} AS k"]
    row += [
        f"{row_value(source_of.format(index=index, column=q(column)), oids[column])} AS c{index}"
        for index, column in enumerate(columns)
    ]
    alias = {column: f"s.c{index}" for index, column in enumerate(columns)}
    json_parts = ['\'{"_table":"' + _name(table.name) + "\"'"]
    for column in columns:
        json_parts += [f"',\"{_name(column)}\":'", json_value(alias[column], oids[column])]
    json_parts.append("'}'")
    csv_parts = ["'\"" + _name(table.name) + "\"'"]
    for name in header[1:]:
        csv_parts.append(csv_cell(alias[name], oids[name]) if name in columns else "','")
    json_line = " || ".join(json_parts)
    csv_line = " || ".join(csv_parts)
    # The lines of a chunk, without the newline after the last (Python writes it). In binary
    # COPY a text is sent as its bytes in the client's encoding, which is also how a bytea is
    # sent: read as bytea, a chunk is its UTF-8 bytes, not decoded and encoded again. Another
    # client encoding gets the UTF-8 bytes from convert_to (a copy and a scan more per chunk).
    utf8 = sends_utf8(conn)
    if by_position:
        numbered = rows_query(
            source,
            table,
            columns,
            conn.dialect,
            **scope,
            select=[
                f"{pk} AS k",
                f"(row_number() OVER (ORDER BY {pk}) - 1) / {CHUNK_ROWS} AS n",
                *(f"t0.{q(column)} AS v{index}" for index, column in enumerate(columns)),
            ],
            runs=_EVERY_ROW,
        )
        lane_rows = [
            (
                f"SELECT {', '.join(row)} FROM ({numbered.sql}) r"  # noqa: S608 (schema-checked names)
                + (f" WHERE mod(r.n, {lanes}) = {lane}" if lanes > 1 else ""),
                numbered.params,
            )
            for lane in range(lanes)
        ]
    else:
        lane_rows = []
        for lane in range(lanes):
            rows = rows_query(
                source,
                table,
                columns,
                conn.dialect,
                **scope,
                select=[*row, f"{pk} / {CHUNK_ROWS} AS n"],
                runs=(CHUNK_ROWS, lane, lanes),
            )
            lane_rows.append((rows.sql, rows.params))
    presorted = not _small(conn, source, table)
    queries = []
    for rows_sql, params in lane_rows:
        if presorted:
            # The rows sorted by chunk and key once, and each chunk's lines joined in the order
            # they arrive: no sort per chunk and per file (a third of the server's work on the
            # access log), provided the plan feeds the aggregate straight from that sort.
            sql = _chunks_sql(json_line, csv_line, f"{rows_sql} ORDER BY n, k", utf8, ordered=False)
            if _joins_in_sorted_order(conn, sql, params, table.primary_key):
                queries.append((f"COPY ({sql}) TO STDOUT (FORMAT binary)", params))
                continue
        sql = _chunks_sql(json_line, csv_line, f"{rows_sql} OFFSET 0", utf8, ordered=True)
        queries.append((f"COPY ({sql}) TO STDOUT (FORMAT binary)", params))
    return queries


def _chunks_sql(json_line: str, csv_line: str, rows_sql: str, utf8: bool, *, ordered: bool) -> str:
    """Per chunk of the rows ``rows_sql`` selects (``n`` the chunk, ``k`` the key): its number,
    its row count and its two texts, the lines in key order: by the aggregates' own ORDER BY, or
    (``ordered=False``) as the rows arrive, for rows that come sorted by chunk and key."""
    order = " ORDER BY s.k" if ordered else ""
    texts = (
        f"string_agg({line}, E'\\n'{order})"
        if utf8
        else f"convert_to(string_agg({line}, E'\\n'{order}), 'UTF8')"
        for line in (json_line, csv_line)
    )
    # Subquery of schema-checked names and bound parameters.
    return f"SELECT s.n::int8, count(*), {', '.join(texts)} FROM ({rows_sql}) s GROUP BY s.n ORDER BY s.n"  # noqa: S608


# The plan nodes that pass their input's rows on in the order they come.
_ORDER_KEEPING = {"Subquery Scan", "Limit", "Result"}


def _joins_in_sorted_order(conn: StoreConnection, sql: str, params: tuple[Any, ...], key: str) -> bool:
    """Whether PostgreSQL plans ``sql`` (``_chunks_sql`` over rows sorted by chunk and key) so
    that its aggregates read the rows in that order: a plain sorted aggregate (one process, no
    hashing) fed through nodes that keep their input's order by a sort on (chunk, key). Its
    executor then joins each chunk's lines as they come, in key order. Anything else (another
    version's planner, other statistics) and the aggregates sort each chunk themselves."""
    import psycopg

    # Bound on the client, as the COPY's parameters are: the plan asked for is the plan used.
    with psycopg.ClientCursor(conn.raw) as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        ((plan,),) = cursor.fetchall()
    node = plan[0]["Plan"]
    if (node.get("Node Type"), node.get("Strategy"), node.get("Partial Mode", "Simple")) != (
        "Aggregate",
        "Sorted",
        "Simple",
    ):
        return False
    while len(children := node.get("Plans", [])) == 1:
        node = children[0]
        if node["Node Type"] == "Sort":
            keys = node.get("Sort Key", [])
            return len(keys) == 2 and keys[1].split(".")[-1].strip('()"') in {"k", key}
        if node["Node Type"] not in _ORDER_KEEPING:
            return False
    return False


# A binary COPY: its signature and header, then per row the field count and each field's length
# before its bytes (-1 for NULL), and -1 as the field count after the last row.
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = struct.Struct("!11sii")  # signature, flags, length of the header extension
_CHUNK = struct.Struct("!hiqiq")  # 4 fields: run (int8), rows (int8), then the two bytea
_INT16 = struct.Struct("!h")
_INT32 = struct.Struct("!i")


@contextmanager
def _lane(
    conn: StoreConnection, sql: str, params: tuple[Any, ...]
) -> Iterator[Iterator[tuple[int, int, memoryview, memoryview]]]:
    """One lane's COPY, started (its first row is on its way) on entering."""
    with conn.raw.cursor() as cursor, cursor.copy(sql, params) as copy:
        yield _binary_chunks(copy)


def _binary_chunks(copy: Any) -> Iterator[tuple[int, int, memoryview, memoryview]]:
    """The rows (run, rows, JSON Lines bytes, CSV bytes) of the binary COPY, read from its
    messages as they come: one row a message, the header before the first, as PostgreSQL sends
    them (psycopg's own parser takes the same). The two texts are views of the message, hashed
    and written without being copied once more (psycopg's bytea loader would: 47 MB per
    100,000 access-log rows)."""
    header = True
    for message in copy:
        view = memoryview(message)
        try:
            at = _header_size(view) if header else 0
            header = False
            chunk = _chunk(view, at)
        except struct.error as err:
            raise ValueError("a message of the COPY is cut short") from err
        if chunk is not None:  # None: the trailer, and the copy ends with the next read
            yield chunk


def _header_size(view: memoryview) -> int:
    signature, _flags, extension = _HEADER.unpack_from(view)
    if signature != _SIGNATURE:
        raise ValueError("not a binary COPY")
    return int(_HEADER.size + extension)


def _chunk(view: memoryview, at: int) -> tuple[int, int, memoryview, memoryview] | None:
    if _INT16.unpack_from(view, at)[0] == -1:
        return None
    fields, run_size, run, count_size, count = _CHUNK.unpack_from(view, at)
    if (fields, run_size, count_size) != (4, 8, 8):
        raise ValueError("a chunk of the COPY is not (int8, int8, bytea, bytea)")
    at += _CHUNK.size
    texts = []
    for _text in range(2):
        (size,) = _INT32.unpack_from(view, at)
        if size < 0:
            raise ValueError("a chunk of the COPY has no lines")  # never: a chunk has a row
        at += _INT32.size
        texts.append(view[at : at + size])
        at += size
    if at != len(view):
        raise ValueError("a message of the COPY holds more than one chunk")
    return int(run), int(count), texts[0], texts[1]


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
    conns = conns[: lanes_for(conns[0], source, table, len(conns))]
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
        # Started at the same time: starting a COPY waits for the lane's first row, which comes
        # once its rows are sorted; one after the other, the second lane's sort would begin only
        # when the first's had ended, one core idle meanwhile (~45 ms of the access log's ~220).
        lanes = enter_together(
            stack, [_lane(conn, sql, params) for conn, (sql, params) in zip(conns, queries, strict=True)]
        )
        # Merged back in key order: each lane's runs come in order, and runs never repeat.
        heads: dict[int, tuple[int, int, memoryview, memoryview]] = {}
        for index, lane in enumerate(lanes):
            head = next(lane, None)
            if head is not None:
                heads[index] = head
        while heads:
            index = min(heads, key=lambda i: heads[i][0])
            _run, count, json_bytes, csv_bytes = heads.pop(index)
            stats.buffered(max(len(json_bytes), len(csv_bytes)))
            jsonl.write(json_bytes)
            jsonl.write(b"\n")
            csv_file.write(csv_bytes)
            csv_file.write(b"\n")
            rows += count
            head = next(lanes[index], None)
            if head is not None:
                heads[index] = head
    return rows

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import re
import sqlite3
import uuid
from decimal import Decimal
from urllib.parse import urlparse

import psycopg
import pytest

from tests.workflow.store_helpers import seed
from workflow.choices import DataCategory
from workflow.datamap import SourceUnavailable
from workflow.datamap.model import CustomerJoin, Table
from workflow.errors import InvalidInput
from workflow.extraction import ExtractionFailed, ScopeRequest, extract_scope, iter_rows, postgresql
from workflow.extraction.postgresql import CHUNK_ROWS
from workflow.extraction.writers import CsvOut, encode_json
from workflow.store import HEAVY_CUSTOMER_ID

HEAVY = f"store:{HEAVY_CUSTOMER_ID}"
ALL_BUT_CREDENTIALS = [c for c in DataCategory.values if c != DataCategory.CREDENTIAL]
WHOLE_HISTORY = (dt.date(2024, 1, 1), dt.date(2026, 12, 31))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return seed(tmp_path_factory.mktemp("store"), customers=30, heavy_rows=3000)


def extract(store, out, categories, *, customer=HEAVY, dates=WHOLE_HISTORY, **kwargs):
    return extract_scope(
        [ScopeRequest(customer, categories, *dates)], out_dir=out, datamap=store.datamap, **kwargs
    )


def _sqlite(store):
    return sqlite3.connect(store.database_url.removeprefix("sqlite:///"))


def test_every_file_of_the_manifest_has_the_rows_hash_and_size_it_claims(store, tmp_path):
    out = tmp_path / "out"
    manifest = extract(
        store, out, ALL_BUT_CREDENTIALS, third_party_justification="Court asked for recipients"
    )
    assert len(manifest.files) == 2 * len(ALL_BUT_CREDENTIALS)
    for f in manifest.files:
        content = (out / f.relpath).read_bytes()
        assert hashlib.sha256(content).hexdigest() == f.sha256
        assert len(content) == f.size
        if f.fmt == "jsonl":
            assert len(content.splitlines()) == f.rows
        else:
            assert sum(1 for _ in csv.reader(content.decode().splitlines())) == f.rows + 1  # + header
    assert json.loads((out / "manifest.json").read_text()) == manifest.to_dict()
    assert manifest.rows_for(HEAVY, "network_activity") == 3000


def test_row_counts_are_those_of_the_store_within_the_date_range(store, tmp_path):
    dates = (dt.date(2025, 1, 1), dt.date(2025, 6, 30))
    manifest = extract(store, tmp_path / "out", ["network_activity", "order"], dates=dates)
    conn = _sqlite(store)
    # The portal's days are Tehran days (UTC+03:30): 2025-01-01 starts at 2024-12-31 20:30 UTC.
    logs = conn.execute(
        "SELECT count(*) FROM access_log WHERE customer_id = 1 "
        "AND at >= '2024-12-31 20:30:00' AND at < '2025-06-30 20:30:00'"
    ).fetchone()[0]
    orders = conn.execute(
        "SELECT count(*) FROM orders WHERE customer_id = 1 AND placed_at >= '2024-12-31 20:30:00' "
        "AND placed_at < '2025-06-30 20:30:00'"
    ).fetchone()[0]
    conn.close()
    assert 0 < manifest.rows_for(HEAVY, "network_activity") == logs < 3000
    assert manifest.rows_for(HEAVY, "order") == orders


def test_csv_cells_that_would_run_as_formulas_are_neutralised(store, tmp_path):
    out = tmp_path / "out"
    extract(store, out, ["review"])
    rows = list(csv.DictReader((out / "store-1" / "review.csv").open(encoding="utf-8")))
    bodies = [r["body"] for r in rows if r["_table"] == "reviews"]
    assert bodies[0].startswith("'=HYPERLINK(")
    starts = "=+-@\t\r"
    assert not any(cell and cell[0] in starts for r in rows for cell in r.values())
    # The JSON keeps the text as the customer wrote it: neutralising is a CSV matter.
    first = json.loads((out / "store-1" / "review.jsonl").read_text().splitlines()[0])
    assert first["body"].startswith("=HYPERLINK(")


# A CSV field as written: quoted ("…", quotes doubled) or bare (up to the next comma or newline).
_RAW_FIELD = re.compile(r'"(?:[^"]|"")*"|[^,"\n]*')


def raw_csv_records(text: str) -> list[list[str]]:
    """The records of an RFC 4180 file with each field as written, quotes and all: csv.reader
    reads NULL (an empty field) and an empty text ("") alike."""
    records, record, pos = [], [], 0
    while pos < len(text):
        match = _RAW_FIELD.match(text, pos)
        assert match is not None
        record.append(match.group())
        pos = match.end()
        if text[pos] == ",":
            pos += 1
            continue
        assert text[pos] == "\n", (text[pos - 20 : pos + 20], record)
        records.append(record)
        record, pos = [], pos + 1
    return records


def check_csv_field(raw: str, value: object) -> None:
    """The CSV field of a JSON value (as the JSON Lines file holds it): NULL empty, numbers and
    booleans bare, anything else quoted, formula starts neutralised."""
    if value is None:
        assert raw == ""
    elif isinstance(value, int):  # booleans too: True, False
        assert raw == str(value)
    else:
        assert isinstance(value, str)
        text = "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value
        assert raw == '"' + text.replace('"', '""') + '"', (raw, value)


def test_the_files_format_compact_json_trimmed_fractions_and_csv_quoting_every_non_number():
    """The portable writers define the bytes (PostgreSQL's renderer is held to them)."""

    class Sink:
        data = b""

        def write(self, chunk: bytes) -> None:
            self.data += chunk

    tehran = dt.timezone(dt.timedelta(hours=3, minutes=30))
    rows = [
        ("t", None, "", 0, True, dt.datetime(2025, 3, 20, 10, 0, 0, 500000, tzinfo=tehran)),
        ("t", "a\rb", 'say "hi", ok', -7, False, dt.datetime(2025, 1, 2, 3, 4, 5, 120000)),
        ("t", "=SUM(A1)", "-3", 2.5, None, dt.datetime(2025, 1, 2, 3, 4, 5, 1, tzinfo=dt.UTC)),
        ("t", uuid.UUID(int=1), Decimal("1.10"), None, None, dt.date(24, 2, 29)),
        ("t", "x", "y", 1, True, dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
    ]
    sink = Sink()
    CsvOut(sink, ["_table", "a", "b", "n", "flag", "at"]).write_rows(rows)  # type: ignore[arg-type]
    assert sink.data.decode() == (
        '"_table","a","b","n","flag","at"\n'
        '"t",,"",0,True,"2025-03-20T10:00:00.5+03:30"\n'
        '"t","a\rb","say ""hi"", ok",-7,False,"2025-01-02T03:04:05.12"\n'
        '"t","\'=SUM(A1)","\'-3",2.5,,"2025-01-02T03:04:05.000001+00:00"\n'
        '"t","00000000-0000-0000-0000-000000000001",1.10,,,"0024-02-29"\n'
        '"t","x","y",1,True,"2025-01-02T03:04:05+00:00"\n'
    )
    keys = ("_table", "a", "b", "n", "flag", "at")
    assert [encode_json(dict(zip(keys, row, strict=True))) for row in rows[:2]] == [
        '{"_table":"t","a":null,"b":"","n":0,"flag":true,"at":"2025-03-20T10:00:00.5+03:30"}',
        '{"_table":"t","a":"a\\rb","b":"say \\"hi\\", ok","n":-7,"flag":false,"at":"2025-01-02T03:04:05.12"}',
    ]


def test_csv_tells_null_from_empty_text_on_the_portable_path(tmp_path):
    store = seed(tmp_path / "store", customers=6)
    conn = _sqlite(store)
    conn.execute(
        "INSERT INTO reviews (id, customer_id, product, rating, body, status, created_at) "
        "VALUES (90001, 2, '', 1, NULL, 'published', '2025-05-05 10:00:00')"
    )
    conn.commit()
    conn.close()
    out = tmp_path / "out"
    extract(store, out, ["review"], customer="store:2", dates=(dt.date(2025, 5, 1), dt.date(2025, 5, 31)))
    lines = [json.loads(x) for x in (out / "store-2" / "review.jsonl").read_text().splitlines()]
    header, *records = raw_csv_records((out / "store-2" / "review.csv").read_bytes().decode("utf-8"))
    assert len(records) == len(lines)
    for line, record in zip(lines, records, strict=True):
        for name, raw in zip(header, record, strict=True):
            check_csv_field(raw, line.get(name[1:-1]))
    [mine] = [r for r in records if r[header.index('"product"')] == '""']
    assert mine[header.index('"body"')] == ""


def test_credentials_are_never_extracted_even_if_asked(store, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(InvalidInput, match="Credentials are never extracted"):
        extract(store, out, ["identity", "credential"])
    assert not out.exists()
    with pytest.raises(InvalidInput):
        list(iter_rows(HEAVY, "credential", *WHOLE_HISTORY, datamap=store.datamap))


def test_identity_files_hold_no_password_hash(store, tmp_path):
    out = tmp_path / "out"
    extract(store, out, ["identity", "contact"])
    text = (out / "store-1" / "identity.jsonl").read_text() + (out / "store-1" / "contact.csv").read_text()
    assert "password_hash" not in text
    assert "$2b$12$" not in text


def test_third_party_recipients_only_with_the_recorded_justification(store, tmp_path):
    with pytest.raises(InvalidInput, match="justification"):
        extract(store, tmp_path / "refused", ["third_party_recipient"])
    assert not (tmp_path / "refused").exists()
    manifest = extract(
        store, tmp_path / "out", ["third_party_recipient"], third_party_justification="Art. 6 order"
    )
    assert manifest.rows_for(HEAVY, "third_party_recipient") > 0
    assert manifest.to_dict()["third_party_justified"] is True


def test_memory_holds_one_batch_however_many_rows_the_customer_has(store, tmp_path):
    manifest = extract(store, tmp_path / "out", ["network_activity"], fetch_size=50)
    assert manifest.rows_for(HEAVY, "network_activity") == 3000
    assert 0 < manifest.stats.peak_rows_held <= 50


def test_a_source_that_is_down_raises_a_clear_error_and_leaves_nothing(store, tmp_path):
    from workflow.datamap import parse_datamap

    text = store.datamap_path.read_text().replace(
        store.database_url, f"sqlite:///{tmp_path / 'gone.sqlite3'}"
    )
    datamap = parse_datamap(text)
    with pytest.raises(SourceUnavailable, match=r"“store”.*cannot be reached"):
        extract_scope(
            [ScopeRequest(HEAVY, ["identity"], *WHOLE_HISTORY)], out_dir=tmp_path / "out", datamap=datamap
        )
    assert list(tmp_path.iterdir()) == []


def test_a_source_failing_midway_leaves_no_output_that_looks_complete(tmp_path):
    broken = seed(tmp_path / "store", customers=6)
    conn = _sqlite(broken)
    conn.execute("DROP TABLE access_log")
    conn.commit()
    conn.close()
    with pytest.raises(ExtractionFailed, match="network_activity"):
        extract(broken, tmp_path / "out", ["identity", "network_activity"])
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["store"]  # no partial directory left behind


def test_an_output_directory_that_already_holds_files_is_refused(store, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("x")
    with pytest.raises(InvalidInput, match="not empty"):
        extract(store, tmp_path / "out", ["identity"])


def test_bad_requests_are_refused_before_anything_is_read(store, tmp_path):
    with pytest.raises(InvalidInput, match="ends before it starts"):
        extract(store, tmp_path / "a", ["identity"], dates=(dt.date(2025, 2, 1), dt.date(2025, 1, 1)))
    with pytest.raises(InvalidInput, match="Unknown data category"):
        extract(store, tmp_path / "b", ["browsing"])
    with pytest.raises(InvalidInput, match="No data map describes a source"):
        extract(store, tmp_path / "c", ["identity"], customer="warehouse:1")
    assert list(tmp_path.iterdir()) == []


def test_progress_is_reported_per_customer_and_category(store, tmp_path):
    seen = []
    extract_scope(
        [
            ScopeRequest(HEAVY, ["identity", "order"], *WHOLE_HISTORY),
            ScopeRequest("store:2", ["identity"], *WHOLE_HISTORY),
        ],
        out_dir=tmp_path / "out",
        datamap=store.datamap,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_iter_rows_gives_the_rows_of_the_json_lines_file(store, tmp_path):
    out = tmp_path / "out"
    extract(store, out, ["review"])
    from_file = [json.loads(line) for line in (out / "store-1" / "review.jsonl").read_text().splitlines()]
    assert list(iter_rows(HEAVY, "review", *WHOLE_HISTORY, datamap=store.datamap)) == from_file
    assert list(iter_rows(HEAVY, "review", *WHOLE_HISTORY, limit=2, datamap=store.datamap)) == from_file[:2]


# --- PostgreSQL: the COPY path -------------------------------------------------------------


@pytest.fixture
def pg_store(db, tmp_path_factory):
    """The store in a schema of its own inside the test database (search_path in the URL):
    no database is created or dropped, and pytest-django's teardown removes it with the rest."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        (test_database,) = cursor.fetchone()
    base = urlparse(os.environ["DATABASE_URL"])
    url = base._replace(scheme="postgresql", path=f"/{test_database}").geturl()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS store")
    store_url = url + "?options=-csearch_path%3Dstore"
    return seed(tmp_path_factory.mktemp("pg"), customers=30, heavy_rows=20_000, database_url=store_url)


@pytest.mark.postgres
def test_postgresql_extraction_streams_through_copy_with_the_same_guarantees(pg_store, tmp_path):
    out = tmp_path / "out"
    manifest = extract(pg_store, out, ALL_BUT_CREDENTIALS, third_party_justification="Court asked")
    assert manifest.rows_for(HEAVY, "network_activity") == 20_000
    for f in manifest.files:
        content = (out / f.relpath).read_bytes()
        assert hashlib.sha256(content).hexdigest() == f.sha256
        if f.fmt == "jsonl":
            assert [json.loads(line)["_table"] for line in content.splitlines()].__len__() == f.rows
    # ~5.5 MB of JSON and ~3.8 MB of CSV went through chunks of 1,000 rows at most.
    json_size = next(f.size for f in manifest.files if f.relpath == "store-1/network_activity.jsonl")
    assert json_size > 5_000_000
    assert manifest.stats.peak_rows_held == 0
    assert 0 < manifest.stats.peak_bytes_buffered <= json_size * CHUNK_ROWS // 20_000 + 4096
    rows = list(csv.DictReader((out / "store-1" / "review.csv").open(encoding="utf-8")))
    assert rows[0]["body"].startswith("'=HYPERLINK(")
    assert not any(cell and cell[0] in "=+-@\t\r" for r in rows for cell in r.values())


@pytest.mark.postgres
@pytest.mark.parametrize("parallel", [True, False], ids=["two lanes", "one lane"])
def test_postgresql_copy_and_cursor_paths_write_the_same_bytes(pg_store, tmp_path, parallel):
    categories = ALL_BUT_CREDENTIALS
    by_copy = extract(
        pg_store, tmp_path / "copy", categories, third_party_justification="Court asked", parallel=parallel
    )
    by_cursor = extract(
        pg_store,
        tmp_path / "cursor",
        categories,
        third_party_justification="Court asked",
        use_copy=False,
        fetch_size=100,
    )
    assert by_copy.rows_for(HEAVY, "network_activity") == 20_000
    assert [(f.relpath, f.rows, f.sha256, f.size) for f in by_copy.files] == [
        (f.relpath, f.rows, f.sha256, f.size) for f in by_cursor.files
    ]
    assert by_copy.stats.peak_rows_held == 0  # the server rendered them all
    assert by_cursor.stats.peak_rows_held <= 100


@pytest.mark.postgres
@pytest.mark.parametrize("parallel", [True, False], ids=["two lanes", "one lane"])
def test_postgresql_lanes_read_one_snapshot_and_sort_in_memory(pg_store, tmp_path, monkeypatch, parallel):
    """Every lane's transaction sees the same snapshot and may sort SORT_MEMORY of rows before
    it spills to temporary files; a table of a few hundred rows takes one lane only."""
    seen = []
    lanes = {}
    streamed, queries = postgresql.stream_postgresql, postgresql.chunk_queries

    def recording(conns, *args, **kwargs):
        for conn in conns:
            with conn.raw.cursor() as cursor:
                cursor.execute("SELECT current_setting('work_mem'), txid_current_snapshot()::text")
                seen.append(cursor.fetchone())
        return streamed(conns, *args, **kwargs)

    def counting(conn, source, table, *args, **kwargs):
        lanes[table.name] = kwargs["lanes"]
        return queries(conn, source, table, *args, **kwargs)

    monkeypatch.setattr("workflow.extraction.stream_postgresql", recording)
    monkeypatch.setattr(postgresql, "chunk_queries", counting)
    extract(pg_store, tmp_path / "out", ["network_activity", "review"], parallel=parallel)
    assert {memory for memory, _snapshot in seen} == {postgresql.SORT_MEMORY}
    assert len({snapshot for _memory, snapshot in seen}) == 1
    # 20,000 access-log rows (megabytes of heap) on both lanes; reviews and their edits on one.
    assert lanes == {"access_log": 2 if parallel else 1, "reviews": 1, "review_edits": 1}


def test_binary_copy_chunks_are_read_from_their_messages_and_anything_else_is_refused():
    import struct

    header = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 2) + b"xy"  # two bytes of extension

    def chunk(run, rows, *texts):
        fields = b"".join(struct.pack("!i", len(t)) + t for t in texts)
        return struct.pack("!hiqiq", 2 + len(texts), 8, run, 8, rows) + fields

    messages = [header + chunk(0, 2, b'{"a":1}\n{"a":2}', b"1\n2"), chunk(3, 1, b"{}", b""), b"\xff\xff"]
    assert [(run, rows, bytes(j), bytes(c)) for run, rows, j, c in postgresql._binary_chunks(messages)] == [
        (0, 2, b'{"a":1}\n{"a":2}', b"1\n2"),
        (3, 1, b"{}", b""),
    ]
    for broken in (
        [header + chunk(0, 1, b"{}")],  # a field short
        [header + chunk(0, 1, b"{}", b"x")[:-3]],  # cut short
        [header + chunk(0, 1, b"{}", b"x") + b"more"],  # two rows in one message
        [b"COPY" + header[4:] + chunk(0, 1, b"{}", b"x")],  # not the binary signature
    ):
        with pytest.raises(ValueError):
            list(postgresql._binary_chunks(broken))


@pytest.mark.postgres
def test_a_postgresql_source_that_is_down_raises_a_clear_error_and_leaves_nothing(pg_store, tmp_path):
    source = pg_store.datamap.sources["store"]
    down = dataclasses.replace(source, database_url="postgres://postgres@127.0.0.1:1/gone")
    datamap = dataclasses.replace(pg_store.datamap, sources={"store": down})
    with pytest.raises(SourceUnavailable, match=r"“store”.*cannot be reached"):
        extract_scope(
            [ScopeRequest(HEAVY, ["identity"], *WHOLE_HISTORY)], out_dir=tmp_path / "out", datamap=datamap
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
@pytest.mark.parametrize("failing", ["lane", "first"])
def test_when_one_of_the_two_connections_fails_the_other_is_closed(pg_store, tmp_path, monkeypatch, failing):
    """The two connections of a source open at the same time (the second lane's first): the one
    that fails is raised, and the one that opened is closed all the same."""
    import contextlib

    from workflow import extraction

    opened, calls = [], []

    @contextlib.contextmanager
    def connecting(url, **kwargs):
        calls.append(url)
        role = "lane" if len(calls) == 1 else "first"
        if role == failing:
            raise SourceUnavailable(f"{role} refused")
        with extraction_connect(url, **kwargs) as conn:
            opened.append(conn)
            yield conn

    extraction_connect = extraction.connect
    monkeypatch.setattr(extraction, "connect", connecting)
    with pytest.raises(SourceUnavailable, match=f"{failing} refused"):
        extract(pg_store, tmp_path / "out", ["identity"])
    assert len(calls) == 2 and len(opened) == 1
    assert opened[0].raw.closed
    assert not (tmp_path / "out").exists()


TRICKY_TEXTS = [
    "مریم «رضایی»، تهران",  # Persian, guillemets, Arabic comma
    'quote" comma, back\\slash',
    "new\nline and carriage\rreturn",
    "tab\tinside",
    "\x01 \x1f control \x7f delete",
    '=HYPERLINK("http://x")',
    "+98 912",
    "-negative",
    "@SUM(A1)",
    "\t=cmd",
    "\r=cmd",
    "",
    " leading space",
    '"',
    "\u200c zero width non-joiner",
]


@pytest.mark.postgres
@pytest.mark.parametrize("aggregates", ["presorted", "ordered"])
@pytest.mark.parametrize("runs_of", ["keys", "rows"])
def test_postgresql_renders_tricky_values_byte_for_byte_as_the_python_path(
    pg_store, tmp_path, monkeypatch, runs_of, aggregates
):
    """Every type the server renders, with NULLs, fractions of seconds, other zones' offsets,
    negative numbers and text that needs escaping, quoting or neutralising; in chunks that are
    runs of keys and in chunks that are runs of rows by position; joined as the presorted rows
    arrive and by the aggregates' own ORDER BY (the plan check said no)."""
    monkeypatch.setattr(postgresql, "MIN_KEY_FILL", 0.0 if runs_of == "keys" else 2.0)
    chosen = []
    spread = postgresql.keys_spread

    def choosing(*args, **kwargs):
        chosen.append(spread(*args, **kwargs))
        return chosen[-1]

    monkeypatch.setattr(postgresql, "keys_spread", choosing)
    planned = []
    checked = postgresql._joins_in_sorted_order

    def checking(*args, **kwargs):
        planned.append(checked(*args, **kwargs) if aggregates == "presorted" else False)
        return planned[-1]

    monkeypatch.setattr(postgresql, "_joins_in_sorted_order", checking)
    url = pg_store.database_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE tricky (id bigint PRIMARY KEY, customer_id bigint, label text, "
            "code varchar(80), n integer, small smallint, flag boolean, day date, "
            "at timestamptz, local_at timestamp, token uuid)"
        )
        values = [
            (
                index + 1,
                1,
                text,
                text[::-1] if text is not None else None,
                [0, -7, 2_147_483_647, None][index % 4],
                [-32768, 5, None][index % 3],
                [True, False, None][index % 3],
                [dt.date(1999, 12, 31), dt.date(24, 2, 29), None][index % 3],
                [
                    "2025-03-20T23:59:59+00",
                    "2025-03-20T10:00:00.5+00",
                    "2025-03-20T10:00:00.000001+00",
                    "1900-01-01T00:00:00+00",
                    None,
                ][index % 5],
                [dt.datetime(2025, 1, 2, 3, 4, 5), dt.datetime(2025, 1, 2, 3, 4, 5, 120000), None][index % 3],
                ["0b7f0e0c-8e94-4a8a-9d5b-3f0f7d0e5a11", None][index % 2],
            )
            for index, text in enumerate([*TRICKY_TEXTS, None, *TRICKY_TEXTS])
        ]
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO tricky VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", values
            )
        # Keys that cross chunks and lanes (the second lane holds odd runs of 1,000 keys),
        # negative ones too.
        conn.execute("UPDATE tricky SET id = CASE WHEN id % 3 = 0 THEN -id * 997 ELSE id * 997 END")
    # A table this small is rendered on one lane unless told otherwise: here, on two.
    monkeypatch.setattr(postgresql, "SINGLE_LANE_BYTES", -1)
    datamap = pg_store.datamap
    source = datamap.sources["store"]
    tricky = Table(
        name="tricky",
        primary_key="id",
        customer=CustomerJoin("customer_id"),
        timestamp="",
        identifiers={},
        columns=dict.fromkeys(
            ["label", "code", "n", "small", "flag", "day", "at", "local_at", "token"], "review"
        ),
    )
    store = dataclasses.replace(
        pg_store,
        datamap=dataclasses.replace(
            datamap,
            sources={"store": dataclasses.replace(source, tables={**source.tables, "tricky": tricky})},
        ),
    )
    try:
        for zone in ("UTC", "Asia/Tehran", "America/St_Johns"):
            zoned = dataclasses.replace(
                store,
                datamap=dataclasses.replace(
                    store.datamap,
                    sources={
                        "store": dataclasses.replace(
                            store.datamap.sources["store"],
                            database_url=f"{store.database_url}%20-ctimezone%3D{zone.replace('/', '%2F')}",
                        )
                    },
                ),
            )
            by_copy = extract(zoned, tmp_path / zone / "copy", ["review"])
            by_cursor = extract(zoned, tmp_path / zone / "cursor", ["review"], use_copy=False)
            for fmt in ("jsonl", "csv"):
                copied = (tmp_path / zone / "copy" / "store-1" / f"review.{fmt}").read_bytes()
                cursored = (tmp_path / zone / "cursor" / "store-1" / f"review.{fmt}").read_bytes()
                assert copied == cursored, (zone, fmt)
            assert by_copy.stats.peak_rows_held == 0
            assert [f.sha256 for f in by_copy.files] == [f.sha256 for f in by_cursor.files]
            # Every field of the CSV as the format says, against the same row's JSON value:
            # NULL empty, "" quoted, numbers and booleans bare, the rest quoted and neutralised.
            folder = tmp_path / zone / "copy" / "store-1"
            jsonl_text = (folder / "review.jsonl").read_text(encoding="utf-8")
            lines = [json.loads(x) for x in jsonl_text.splitlines()]
            header, *records = raw_csv_records((folder / "review.csv").read_bytes().decode("utf-8"))
            assert len(records) == len(lines)
            for line, record in zip(lines, records, strict=True):
                for name, raw in zip(header, record, strict=True):
                    check_csv_field(raw, line.get(name[1:-1]))
        # Where the session's zone is UTC: fractions of a second without their trailing zeros.
        utc_json = (tmp_path / "UTC" / "copy" / "store-1" / "review.jsonl").read_text(encoding="utf-8")
        for fragment in (
            '"at":"2025-03-20T10:00:00.5+00:00"',
            '"at":"2025-03-20T10:00:00.000001+00:00"',
            '"at":"2025-03-20T23:59:59+00:00"',
            '"local_at":"2025-01-02T03:04:05.12"',
            '"day":"0024-02-29"',
            '"label":"","code":""',
            '"label":null,"code":null',
        ):
            assert fragment in utc_json, fragment
        header, *records = raw_csv_records(
            (tmp_path / "UTC" / "copy" / "store-1" / "review.csv").read_bytes().decode("utf-8")
        )
        labels = [r[header.index('"label"')] for r in records if r[0] == '"tricky"']
        assert labels.count('""') == 2 and labels.count("") == 1  # "" twice, NULL once
        assert '"new\nline and carriage\rreturn"' in labels and '"\'=HYPERLINK(""http://x"")"' in labels
        # A client encoding other than UTF-8: the chunks are converted on the server, same bytes.
        monkeypatch.setattr(postgresql, "sends_utf8", lambda conn: False)
        extract(store, tmp_path / "converted", ["review"])
        for fmt in ("jsonl", "csv"):
            converted = (tmp_path / "converted" / "store-1" / f"review.{fmt}").read_bytes()
            assert converted == (tmp_path / "UTC" / "cursor" / "store-1" / f"review.{fmt}").read_bytes()
        jsonl = (tmp_path / "UTC" / "copy" / "store-1" / "review.jsonl").read_text(encoding="utf-8")
        lines = [json.loads(x) for x in jsonl.splitlines() if '"_table":"tricky"' in x]
        assert sorted(map(repr, (line["label"] for line in lines))) == sorted(
            map(repr, [*TRICKY_TEXTS, None, *TRICKY_TEXTS])
        )
        rows = [
            r for r in csv.DictReader(io.StringIO(cursored.decode(), newline="")) if r["_table"] == "tricky"
        ]
        assert '\'=HYPERLINK("http://x")' in {r["label"] for r in rows}
        assert not any(cell and cell[0] in "=+-@\t\r" for r in rows for k, cell in r.items() if k == "label")
        assert set(chosen) == {runs_of == "rows"}
        # Every big table's lanes (all are big here) were planned, and took the path asked for.
        assert planned and set(planned) == {aggregates == "presorted"}
    finally:
        with psycopg.connect(url) as conn:
            conn.execute("DROP TABLE tricky")


@pytest.mark.postgres
@pytest.mark.parametrize("parallel", [True, False], ids=["two lanes", "one lane"])
def test_keys_spread_through_a_shared_table_are_chunked_by_rows_not_by_key_runs(
    pg_store, tmp_path, monkeypatch, parallel
):
    """A customer's rows among everyone's, keys in order of arrival: runs of 1,000 keys would
    hold a row or two each (a chunk's overhead per row). Their chunks hold CHUNK_ROWS rows by
    position instead, and the files are byte for byte the portable path's."""
    url = pg_store.database_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE access_log SET id = -id")  # two steps: the key stays unique throughout
        conn.execute("UPDATE access_log SET id = -id * 1000")
    runs = []
    chunks = postgresql._binary_chunks

    def counted(copy):
        for chunk in chunks(copy):
            runs.append(chunk[1])
            yield chunk

    monkeypatch.setattr(postgresql, "_binary_chunks", counted)
    by_copy = extract(pg_store, tmp_path / "copy", ["network_activity"], parallel=parallel)
    by_cursor = extract(pg_store, tmp_path / "cursor", ["network_activity"], use_copy=False)
    assert by_copy.rows_for(HEAVY, "network_activity") == 20_000
    assert [(f.relpath, f.sha256) for f in by_copy.files] == [(f.relpath, f.sha256) for f in by_cursor.files]
    assert runs == [CHUNK_ROWS] * (20_000 // CHUNK_ROWS)  # by key runs: 20,000 chunks of one row


@pytest.mark.postgres
def test_presorted_chunks_hold_their_rows_in_key_order_whatever_order_the_table_keeps(
    pg_store, tmp_path, monkeypatch
):
    """A chunk's lines are joined as its rows arrive, sorted once by chunk and key, when the
    plan says they arrive so: rows stored in the reverse of their keys' order still come out in
    key order, byte for byte the portable path's, and that path was taken on both lanes."""
    url = pg_store.database_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE access_log SET id = -id")  # stored in descending key order now
    planned = []
    checked = postgresql._joins_in_sorted_order

    def checking(*args, **kwargs):
        planned.append(checked(*args, **kwargs))
        return planned[-1]

    monkeypatch.setattr(postgresql, "_joins_in_sorted_order", checking)
    by_copy = extract(pg_store, tmp_path / "copy", ["network_activity"])
    by_cursor = extract(pg_store, tmp_path / "cursor", ["network_activity"], use_copy=False)
    assert by_copy.rows_for(HEAVY, "network_activity") == 20_000
    assert [(f.relpath, f.sha256) for f in by_copy.files] == [(f.relpath, f.sha256) for f in by_cursor.files]
    assert planned == [True, True]


@pytest.mark.postgres
def test_the_plan_check_refuses_plans_that_do_not_feed_the_aggregates_in_key_order(pg_store):
    """Only a sorted aggregate fed straight from the sort on (chunk, key) passes: not rows in
    no particular order, not a hashed aggregate, not one sorted by chunk alone."""
    from workflow.datamap.connect import connect

    source = pg_store.datamap.sources["store"]
    table = source.tables["access_log"]
    with connect(source.database_url) as conn:
        rows = f"SELECT id AS k, id / 1000 AS n, path AS c0 FROM {conn.dialect.quote(table.name)}"
        lines = ("s.c0", "s.c0")

        def passes(rows_sql: str) -> bool:
            sql = postgresql._chunks_sql(*lines, rows_sql, True, ordered=False)
            return postgresql._joins_in_sorted_order(conn, sql, (), table.primary_key)

        assert passes(f"{rows} ORDER BY n, k")
        assert not passes(rows)
        assert not passes(f"{rows} ORDER BY n")
        with conn.raw.cursor() as cursor:
            cursor.execute("SET enable_sort = off")  # a hashed aggregate, then a sort of its groups
        assert not passes(rows)


@pytest.mark.postgres
def test_the_lanes_copies_start_at_once_not_one_after_the_other(pg_store, tmp_path, monkeypatch):
    """Starting a COPY waits for the lane's first row, after its sort: the second lane's is
    started beside the first's. Here the first lane's waits until the second's has begun (one
    after the other, it would wait in vain)."""
    import contextlib
    import threading

    second_started = threading.Event()
    lane = postgresql._lane

    @contextlib.contextmanager
    def starting(conn, sql, params):
        if "IN (1, -1)" in sql:  # the second lane's runs of keys
            second_started.set()
        elif "IN (0, -2)" in sql:
            assert second_started.wait(10), "the first lane's COPY was started alone"
        with lane(conn, sql, params) as chunks:
            yield chunks

    monkeypatch.setattr(postgresql, "_lane", starting)
    by_copy = extract(pg_store, tmp_path / "copy", ["network_activity"])
    by_cursor = extract(pg_store, tmp_path / "cursor", ["network_activity"], use_copy=False)
    assert second_started.is_set()
    assert [(f.relpath, f.sha256) for f in by_copy.files] == [(f.relpath, f.sha256) for f in by_cursor.files]


@pytest.mark.postgres
@pytest.mark.parametrize("failing", ["first", "second"])
def test_a_lane_whose_copy_fails_to_start_fails_the_extraction_and_the_other_is_closed(
    pg_store, tmp_path, monkeypatch, failing
):
    import contextlib

    closed = []
    started = postgresql._lane

    @contextlib.contextmanager
    def starting(conn, sql, params):
        lane = "second" if "IN (1, -1)" in sql else "first"
        try:
            if lane == failing and "IN (" in sql:
                raise psycopg.errors.QueryCanceled("canceling statement due to user request")
            with started(conn, sql, params) as chunks:
                yield chunks
        finally:
            if "IN (" in sql:
                closed.append(lane)

    monkeypatch.setattr(postgresql, "_lane", starting)
    with pytest.raises(ExtractionFailed, match="failed while extracting network_activity"):
        extract(pg_store, tmp_path / "out", ["network_activity"])
    assert sorted(closed) == ["first", "second"]  # the lane that started is closed too
    assert not (tmp_path / "out").exists()


@pytest.mark.postgres
def test_how_spread_a_scopes_keys_are_is_asked_once_per_table(pg_store, tmp_path, monkeypatch):
    """The customers table holds identity and contact columns: two files, one question."""
    monkeypatch.setattr(postgresql, "SINGLE_LANE_BYTES", -1)  # asked of big tables only
    asked = []
    build = postgresql.rows_query

    def recording(source, table, *args, **kwargs):
        if len(kwargs.get("select") or []) == 1 and kwargs["select"][0].endswith(" AS k"):  # keys_spread's
            asked.append(table.name)
        return build(source, table, *args, **kwargs)

    monkeypatch.setattr(postgresql, "rows_query", recording)
    manifest = extract(pg_store, tmp_path / "out", ["identity", "contact"])
    assert manifest.rows_for(HEAVY, "identity") == manifest.rows_for(HEAVY, "contact") == 1
    assert asked == ["customers"]


@pytest.mark.postgres
def test_matching_works_against_postgresql_too(pg_store):
    from workflow.matching import MatchStatus, match_identifiers

    report = match_identifiers(
        [("mobile", "09121234567"), ("landline", "02122334455")], datamap=pg_store.datamap
    )
    assert [r.status for r in report.identifiers] == [MatchStatus.MATCHED, MatchStatus.AMBIGUOUS]


# --- MySQL / MariaDB: the same code through PyMySQL -------------------------------------------


@pytest.mark.skipif(
    not os.environ.get("STORE_MYSQL_URL"),
    reason="needs a MySQL/MariaDB database: set STORE_MYSQL_URL=mysql://root@127.0.0.1:3306/datamap_store",
)
def test_mysql_store_is_matched_extracted_and_erased_through_the_same_map(tmp_path):
    from workflow.datamap import erase_category
    from workflow.matching import MatchStatus, match_identifiers

    store = seed(
        tmp_path / "store", customers=20, heavy_rows=1500, database_url=os.environ["STORE_MYSQL_URL"]
    )
    report = match_identifiers(
        [("national_id", "۰۰۱۲۳۴۵۶۷۹"), ("landline", "02122334455")], datamap=store.datamap
    )
    assert [r.status for r in report.identifiers] == [MatchStatus.MATCHED, MatchStatus.AMBIGUOUS]
    manifest = extract(store, tmp_path / "out", ["network_activity", "review"], fetch_size=100)
    assert manifest.rows_for(HEAVY, "network_activity") == 1500
    assert manifest.stats.peak_rows_held <= 100
    rows = list(csv.DictReader((tmp_path / "out" / "store-1" / "review.csv").open(encoding="utf-8")))
    assert rows[0]["body"].startswith("'=HYPERLINK(")
    assert erase_category(HEAVY, "network_activity", datamap=store.datamap).rows == 1500


@pytest.mark.postgres
def test_postgresql_renders_awkward_text_exactly_in_json_and_safely_in_csv(pg_store, tmp_path):
    awkward = 'tab\tquote" comma, back\\slash\nnew line \x01 ctrl'
    formula = "\t=cmd|' /C calc'!A0"
    with psycopg.connect(pg_store.database_url.replace("postgres://", "postgresql://", 1)) as conn:
        conn.execute(
            "INSERT INTO reviews (id, customer_id, product, rating, body, status, created_at) "
            "VALUES (90001, 2, %s, 1, %s, 'published', '2025-05-05T10:00:00Z'), "
            "(90002, 2, %s, 2, NULL, 'published', '2025-05-06T10:00:00Z')",
            (awkward, formula, "-negative"),
        )
    try:
        out = tmp_path / "out"
        extract(
            pg_store, out, ["review"], customer="store:2", dates=(dt.date(2025, 5, 1), dt.date(2025, 5, 31))
        )
        lines = [json.loads(x) for x in (out / "store-2" / "review.jsonl").read_text().splitlines()]
        mine = [r for r in lines if r["_table"] == "reviews" and r["product"] in (awkward, "-negative")]
        assert [(r["product"], r["body"], r["rating"]) for r in mine] == [
            (awkward, formula, 1),
            ("-negative", None, 2),
        ]
        rows = [
            r for r in csv.DictReader((out / "store-2" / "review.csv").open(encoding="utf-8", newline=""))
        ]
        mine_csv = [r for r in rows if r["product"] in (awkward, "'-negative")]
        assert [(r["product"], r["body"], r["rating"]) for r in mine_csv] == [
            (awkward, "'" + formula, "1"),
            ("'-negative", "", "2"),
        ]
    finally:
        with psycopg.connect(pg_store.database_url.replace("postgres://", "postgresql://", 1)) as conn:
            conn.execute("DELETE FROM reviews WHERE id IN (90001, 90002)")


def test_awkward_text_is_exact_in_json_and_safe_in_csv_on_the_portable_path(tmp_path):
    store = seed(tmp_path / "store", customers=6)
    awkward = 'tab\tquote" comma, back\\slash\nnew line \x01 ctrl'
    conn = _sqlite(store)
    conn.execute(
        "INSERT INTO reviews (id, customer_id, product, rating, body, status, created_at) "
        "VALUES (90001, 2, ?, 1, ?, 'published', '2025-05-05 10:00:00')",
        (awkward, "\t=cmd|' /C calc'!A0"),
    )
    conn.commit()
    conn.close()
    out = tmp_path / "out"
    extract(store, out, ["review"], customer="store:2", dates=(dt.date(2025, 5, 1), dt.date(2025, 5, 31)))
    rows = [json.loads(x) for x in (out / "store-2" / "review.jsonl").read_text().splitlines()]
    [line] = [r for r in rows if r.get("product") == awkward]
    assert (line["product"], line["body"]) == (awkward, "\t=cmd|' /C calc'!A0")
    [row] = [
        r
        for r in csv.DictReader((out / "store-2" / "review.csv").open(encoding="utf-8", newline=""))
        if r["product"] == awkward
    ]
    assert row["body"] == "'\t=cmd|' /C calc'!A0"


def test_deflated_copies_inflate_to_the_files_and_carry_their_md5(store, tmp_path):
    import zlib

    manifest = extract(store, tmp_path / "out", ["network_activity", "review"], deflate_dir=tmp_path / "z")
    for f in manifest.files:
        content = (tmp_path / "out" / f.relpath).read_bytes()
        assert f.deflated == tmp_path / "z" / f.relpath
        assert zlib.decompress(f.deflated.read_bytes()) == content
        assert f.md5 == hashlib.md5(content, usedforsecurity=False).hexdigest()


def test_a_failure_while_deflating_is_raised_and_leaves_no_output(store, tmp_path, monkeypatch):
    from workflow.extraction import writers

    def broken(self, data):
        raise OSError("disk full")

    monkeypatch.setattr(writers.HashedFile, "_consume", broken)
    with pytest.raises(OSError, match="disk full"):
        extract(store, tmp_path / "out", ["network_activity"], deflate_dir=tmp_path / "z")
    assert not (tmp_path / "out").exists()

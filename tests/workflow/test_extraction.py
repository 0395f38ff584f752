import csv
import datetime as dt
import hashlib
import json
import os
import sqlite3
from urllib.parse import urlparse

import psycopg
import pytest

from tests.workflow.store_helpers import seed
from workflow.choices import DataCategory
from workflow.datamap import SourceUnavailable
from workflow.errors import InvalidInput
from workflow.extraction import ExtractionFailed, ScopeRequest, extract_scope, iter_rows
from workflow.extraction.streams import COPY_BUFFER_BYTES, JSON_CHUNK_ROWS
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
    # ~5.5 MB of JSON and ~3.8 MB of CSV went through buffers of a chunk of 1,000 rows at most.
    json_size = next(f.size for f in manifest.files if f.relpath == "store-1/network_activity.jsonl")
    assert json_size > 5_000_000
    assert manifest.stats.peak_rows_held == 0
    assert (
        0
        < manifest.stats.peak_bytes_buffered
        <= max(COPY_BUFFER_BYTES + 4096, json_size * JSON_CHUNK_ROWS // 20_000 + 4096)
    )
    rows = list(csv.DictReader((out / "store-1" / "review.csv").open(encoding="utf-8")))
    assert rows[0]["body"].startswith("'=HYPERLINK(")
    assert not any(cell and cell[0] in "=+-@\t\r" for r in rows for cell in r.values())


@pytest.mark.postgres
def test_postgresql_copy_and_cursor_paths_extract_the_same_rows(pg_store, tmp_path):
    dates = (dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    by_copy = extract(pg_store, tmp_path / "copy", ["network_activity", "review", "order"], dates=dates)
    by_cursor = extract(
        pg_store,
        tmp_path / "cursor",
        ["network_activity", "review", "order"],
        dates=dates,
        use_copy=False,
        fetch_size=100,
    )
    for category in ("network_activity", "review", "order"):
        assert by_copy.rows_for(HEAVY, category) == by_cursor.rows_for(HEAVY, category)
        copied = [
            json.loads(x)
            for x in (tmp_path / "copy" / "store-1" / f"{category}.jsonl").read_text().splitlines()
        ]
        cursored = [
            json.loads(x)
            for x in (tmp_path / "cursor" / "store-1" / f"{category}.jsonl").read_text().splitlines()
        ]
        assert [
            {k: v for k, v in r.items() if k not in ("at", "placed_at", "created_at", "edited_at")}
            for r in copied
        ] == [
            {k: v for k, v in r.items() if k not in ("at", "placed_at", "created_at", "edited_at")}
            for r in cursored
        ]
    assert by_cursor.stats.peak_rows_held <= 100


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

"""The verifier's fast paths find exactly what the plain walk finds.

On PostgreSQL the rows are loaded a chunk per C call (libpq's chunked rows mode), an object that
is its own stream comes as NULL, and each event's text is spelt inline in the walk; on SQLite the
ORM gives the same rows. Whatever the path, the same events verify and the same breaks are named.
"""

import pytest

from tests.audit_support import raw_sql
from workflow.audit import Actor, record
from workflow.audit import verify as verify_module
from workflow.audit.verify import verify_chains

pytestmark = pytest.mark.django_db

CONTROL = "".join(chr(c) for c in range(1, 32))
TRICKY = [
    'say "no"',
    "C:\\new\\x",
    CONTROL,
    "\x7f\u2028\u2029\ufeff",
    "«فارسی» ۱۴۰۳",
    "\U0001f600\U00010000",
    "null",
    "",
]


def record_tricky() -> list[str]:
    streams = []
    for n, name in enumerate(TRICKY):
        stream = f"disclosureorder:{name}{n}"
        streams.append(stream)
        record("test.first", actor=Actor(name, name[:30]), stream=stream, obj=stream, data={"n": name})
        record(name or "test.empty", actor=Actor(name, ""), stream=stream, obj=name or None, data={name: n})
        record("test.third", actor=None, stream=stream, obj=f"package:{name}", data={})
    return streams


def breaks() -> list[tuple[str, int, str]]:
    return [(b.stream, b.seq, b.problem) for b in verify_chains().breaks]


def test_text_that_needs_escaping_in_every_column_verifies_and_an_alteration_is_named() -> None:
    streams = record_tricky()
    report = verify_chains()
    assert report.intact, report.breaks
    assert (report.events, report.streams) == (3 * len(TRICKY), len(TRICKY))
    raw_sql("UPDATE workflow_auditevent SET actor = actor || 'x' WHERE stream = %s AND seq = 2", [streams[2]])
    found = breaks()
    assert [(stream, seq) for stream, seq, _problem in found] == [(streams[2], 2)]
    assert "altered" in found[0][2]


def test_an_object_moved_onto_or_off_its_own_stream_is_caught() -> None:
    """On PostgreSQL an object equal to its stream is sent as NULL: moving an object onto its
    stream, or off it, must still change the bytes hashed."""
    for stream in ("disclosureorder:DO-A", "disclosureorder:DO-B", ""):
        record("test.a", actor=None, stream=stream, obj=stream)
        record("test.b", actor=None, stream=stream, obj="package:1")
        record("test.c", actor=None, stream=stream, obj=None)
    assert verify_chains().intact
    raw_sql(
        "UPDATE workflow_auditevent SET object_ref = stream WHERE stream = 'disclosureorder:DO-A' AND seq = 2"
    )
    raw_sql(
        "UPDATE workflow_auditevent SET object_ref = 'x' WHERE stream = 'disclosureorder:DO-B' AND seq = 1"
    )
    raw_sql("UPDATE workflow_auditevent SET object_ref = 'package:1' WHERE stream = '' AND seq = 1")
    assert [(stream, seq) for stream, seq, _problem in breaks()] == [
        ("", 1),
        ("disclosureorder:DO-A", 2),
        ("disclosureorder:DO-B", 1),
    ]


def tamper(streams: list[str]) -> None:
    raw_sql(
        "UPDATE workflow_auditevent SET data_json = '{\"n\":1}' WHERE stream = %s AND seq = 3", [streams[0]]
    )
    raw_sql("DELETE FROM workflow_auditevent WHERE stream = %s AND seq = 2", [streams[3]])
    raw_sql("DELETE FROM workflow_auditevent WHERE stream = %s AND seq = 1", [streams[5]])
    raw_sql("UPDATE workflow_auditevent SET prev_hash = hash WHERE stream = %s AND seq = 3", [streams[6]])


@pytest.mark.postgres
@pytest.mark.parametrize("stop_at_first", [False, True])
def test_the_streamed_read_and_the_portable_read_find_the_same_breaks(
    stop_at_first: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    streams = record_tricky()
    tamper(streams)
    fast = verify_chains(stop_at_first=stop_at_first)
    assert len(fast.breaks) == (1 if stop_at_first else 5)
    monkeypatch.setattr(verify_module, "_rows", verify_module._portable_rows)
    portable = verify_chains(stop_at_first=stop_at_first)
    assert fast.breaks == portable.breaks
    assert (fast.events, fast.streams, fast.heads) == (portable.events, portable.streams, portable.heads)


@pytest.mark.postgres
def test_without_chunked_rows_mode_the_rows_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq older than 17 streams row by row: the same events, the same breaks."""
    from psycopg import pq

    streams = record_tricky()
    tamper(streams)
    chunked = verify_chains()
    monkeypatch.setattr(pq, "version", lambda: 160000)
    monkeypatch.setattr(verify_module, "_STREAM_CHUNK", 3)  # and chunks that end mid-stream
    row_by_row = verify_chains()
    assert chunked.breaks == row_by_row.breaks
    assert (chunked.events, chunked.heads) == (row_by_row.events, row_by_row.heads)


@pytest.mark.postgres
@pytest.mark.parametrize("chunk", [1, 2, 7])
def test_chunks_that_end_anywhere_give_the_same_report(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    streams = record_tricky()
    tamper(streams)
    whole = verify_chains()
    monkeypatch.setattr(verify_module, "_STREAM_CHUNK", chunk)
    assert verify_chains().breaks == whole.breaks


def test_the_report_names_each_break_once_with_its_problem() -> None:
    streams = record_tricky()
    tamper(streams)
    found = breaks()
    assert [(stream, seq) for stream, seq, _problem in found] == sorted(
        [(streams[0], 3), (streams[3], 2), (streams[3], 3), (streams[5], 1), (streams[6], 3)]
    )
    problems = dict(((stream, seq), problem) for stream, seq, problem in found)
    assert "altered" in problems[(streams[0], 3)]
    assert "expected seq 2, found 3" in problems[(streams[3], 2)]
    assert "missing from the end" in problems[(streams[3], 3)]
    assert "expected seq 1, found 2" in problems[(streams[5], 1)]
    assert "prev_hash" in problems[(streams[6], 3)]

"""On PostgreSQL the audit table is append-only, appends are one database call that hashes exactly
what Python would, and concurrent appends keep one clean chain."""

import threading
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from tests.audit_support import record_history
from workflow.audit import Actor, record
from workflow.audit.canonical import GENESIS_HASH, canonical_data, event_hash, format_time
from workflow.audit.verify import verify_chains
from workflow.models import AuditEvent, AuditStreamHead

pytestmark = pytest.mark.postgres


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE workflow_auditevent SET action = 'test.innocent'",
        "DELETE FROM workflow_auditevent",
        "TRUNCATE workflow_auditevent",
    ],
)
def test_the_database_refuses_to_rewrite_audit_rows(statement: str) -> None:
    record_history({"system": 2})
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AuditEvent.objects.filter(stream="system").count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_to_one_stream_give_contiguous_seqs_and_an_intact_chain() -> None:
    writers, per_writer = 8, 25
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(per_writer):
                with transaction.atomic():
                    record(
                        "test.appended", actor=None, stream="disclosureorder:DO-BUSY", data={"w": n, "i": i}
                    )
        except BaseException as err:  # reported below
            failures.append(err)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    seqs = list(AuditEvent.objects.filter(stream="disclosureorder:DO-BUSY").values_list("seq", flat=True))
    assert seqs == list(range(1, writers * per_writer + 1))
    report = verify_chains()
    assert report.intact, report.breaks
    assert report.events == writers * per_writer


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("processes", [1, 2, 3])
def test_verification_reads_awkward_text_exactly_in_any_number_of_processes(processes: int) -> None:
    """Backslashes, tabs, newlines and other control characters in any text column are read back
    exactly; split over processes, the report is the one a single process gives."""
    awkward = {"note": "tab\there\\back\nslash\r\x0b\x0c\x08 «فارسی» \U0001f600", "path": "C:\\new"}
    for n in range(30):
        record(
            "test.awkward", actor=None, stream=f"disclosureorder:DO-{n % 3}\t\\x", obj="ref:\n1", data=awkward
        )
    report = verify_chains(processes=processes)
    assert report.intact, report.breaks
    assert (report.events, report.streams) == (30, 3)
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "UPDATE workflow_auditevent SET data_json = replace(data_json, 'tab', 'tap') WHERE seq = 7"
        )
        cursor.execute("SET session_replication_role = origin")
    broken = verify_chains(processes=processes)
    assert [(b.stream, b.seq) for b in broken.breaks] == [
        (f"disclosureorder:DO-{n}\t\\x", 7) for n in range(3)
    ]
    assert broken.heads == verify_chains(processes=1).heads


@pytest.mark.django_db(transaction=True)
def test_parallel_verification_splits_the_streams_into_ranges_of_similar_size() -> None:
    from workflow.audit.verify import _split_points

    record_history({"disclosureorder:DO-A": 6, "disclosureorder:DO-B": 1, "disclosureorder:DO-C": 5})
    record_history({"disclosureorder:DO-D": 6, "system": 2})
    # 20 events: A B C | D system is 12 | 8; A B | C D | system is 7 | 11 | 2
    assert _split_points(2) == ["disclosureorder:DO-D"]
    assert _split_points(3) == ["disclosureorder:DO-C", "system"]
    assert len(_split_points(10)) == 4  # never more ranges than streams
    assert verify_chains(processes=3).intact


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("cpus", "events", "processes"),
    [(2, 12, 2), (8, 40, 2), (2, 11, 1), (1, 40, 1)],
)
def test_by_default_a_long_trail_is_verified_in_two_processes_on_a_host_with_two_cpus(
    monkeypatch: pytest.MonkeyPatch, settings: Any, cpus: int, events: int, processes: int
) -> None:
    """AUDIT_VERIFY_PROCESSES=auto (the default), here with a long trail being 12 events or more:
    two processes for a long trail, one for a short one or on a single CPU; the same breaks."""
    from workflow.audit import verify

    monkeypatch.setattr(verify, "_AUTOMATIC_FROM_EVENTS", 12)
    monkeypatch.setattr(verify, "_usable_cpus", lambda: cpus)
    settings.AUDIT_VERIFY_PROCESSES = None
    record_history({"disclosureorder:DO-A": events // 2, "system": events - events // 2})
    report = verify_chains()
    assert report.intact, report.breaks
    assert (report.events, report.processes) == (events, processes)
    assert verify_chains(processes=1).processes == 1  # a number asked for is what runs
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE workflow_auditevent SET action = 'test.innocent' WHERE seq = 4")
        cursor.execute("SET session_replication_role = origin")
    broken = verify_chains()
    assert broken.processes == processes
    assert [(b.stream, b.seq) for b in broken.breaks] == [("disclosureorder:DO-A", 4), ("system", 4)]
    assert broken.heads == verify_chains(processes=1).heads


@pytest.mark.django_db(transaction=True)
def test_verify_audit_takes_a_number_of_processes(signing: object) -> None:
    record_history({"disclosureorder:DO-A": 3, "system": 2})
    call_command("checkpoint_audit", stdout=StringIO())
    out = StringIO()
    call_command("verify_audit", "--processes", "2", "--no-record", stdout=out)
    assert "5 events in 2 streams verified" in out.getvalue()
    with pytest.raises(CommandError, match="at least 1"):
        call_command("verify_audit", "--processes", "0", "--no-record")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("processes", [1, 2])
def test_events_appended_while_verifying_are_neither_read_nor_taken_for_breaks(
    monkeypatch: pytest.MonkeyPatch, processes: int
) -> None:
    """A verification runs while officers work: another session appends to a verified stream and
    starts a new one after the heads were read and before the events are (in every process).
    Read outside one snapshot, the first would look written behind its head and the second
    headless."""
    from workflow.audit import verify

    record_history({"disclosureorder:DO-A": 3, "system": 2})
    walk = verify._walk

    def appended_meanwhile(*args: object, **kwargs: object) -> object:
        def append() -> None:
            try:
                with transaction.atomic():
                    record("test.meanwhile", actor=None, stream="system")
                    record("test.meanwhile", actor=None, stream="disclosureorder:DO-NEW")
            finally:
                connection.close()

        other_session = threading.Thread(target=append)
        other_session.start()
        other_session.join()
        return walk(*args, **kwargs)

    monkeypatch.setattr(verify, "_walk", appended_meanwhile)
    report = verify_chains(processes=processes)
    assert report.intact, report.breaks
    assert (report.events, report.streams) == (5, 2)
    monkeypatch.undo()
    assert AuditEvent.objects.count() == 5 + 2 * processes  # every process's appends committed
    after = verify_chains(processes=processes)
    assert after.intact, after.breaks
    assert after.events == 5 + 2 * processes


@pytest.mark.django_db
def test_inside_a_transaction_verification_stays_in_one_process() -> None:
    """Forked processes could not see the transaction's uncommitted events: it walks them itself."""
    record_history({"disclosureorder:DO-A": 3, "system": 2})
    report = verify_chains(processes=2)
    assert report.intact
    assert report.events == 5


TRICKY_DATA = [
    {"note": "حکم دادگاه شماره ۱۴۰۳/۱۲۳ — «افشا»", "ref": "DO-۱۴۰۳-۰۰۰۱"},
    {"quote": 'say "no"', "back": "C:\\x\\n", "ctl": "\x01\x1f\t\n\r\x08\x0c", "del": "\x7f"},
    {"n": 0, "neg": -(2**53 - 1), "big": 2**53 - 1, "t": True, "f": False, "z": None},
    {"b": {"z": [1, {"y": [], "x": {}}], "a": "\U0001f600"}, "\U00010000": 1, "\uffff": 2, "": "empty key"},
    {},
]


@pytest.mark.django_db
@pytest.mark.parametrize("data", TRICKY_DATA)
def test_the_database_append_hashes_exactly_the_python_canonical_bytes(data: dict[str, object]) -> None:
    """workflow_audit_append (one round trip) stores the hash Python's encoding gives for the
    same event: Persian text, escapes and control characters, numbers, nested objects."""
    stream = 'disclosureorder:DO-«۱۴۰۳»\t"x"\\'
    first = record("test.first", actor=Actor("user:7", "legal_officer"), stream=stream, data={"n": 1})
    event = record(
        "test.tricky\u200f", actor=Actor("customer:«کاربر»", ""), stream=stream, obj="ref:\n«۱»", data=data
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.seq, stored.prev_hash, stored.hash) == (2, first.hash, event.hash)
    python_hash = event_hash(
        stream=stored.stream,
        seq=stored.seq,
        occurred_at=format_time(stored.occurred_at),
        actor=stored.actor,
        actor_role=stored.actor_role,
        action=stored.action,
        object_ref=stored.object_ref,
        data_json=canonical_data(data),
        prev_hash=stored.prev_hash,
    )
    assert stored.hash == python_hash
    assert stored.data_json == canonical_data(data)
    assert AuditEvent.objects.get(pk=first.pk).prev_hash == GENESIS_HASH
    assert AuditStreamHead.objects.filter(stream=stream).values_list("seq", "hash", "prev_hash").get() == (
        2,
        event.hash,
        first.hash,
    )
    assert verify_chains().intact


@pytest.mark.django_db
def test_a_failed_append_leaves_neither_event_nor_head_behind() -> None:
    record_history({"disclosureorder:DO-R": 1})

    def change_that_fails() -> None:
        with transaction.atomic():
            record("test.kept", actor=None, stream="disclosureorder:DO-R")
            record("test.new_stream", actor=None, stream="disclosureorder:DO-NEW")
            raise DatabaseError("the change being audited failed")

    with pytest.raises(DatabaseError, match="being audited"):
        change_that_fails()
    assert list(AuditEvent.objects.values_list("stream", "seq")) == [("disclosureorder:DO-R", 1)]
    assert list(AuditStreamHead.objects.values_list("stream", "seq")) == [("disclosureorder:DO-R", 1)]


@pytest.mark.django_db(transaction=True)
def test_the_append_function_migration_is_reversible() -> None:
    def installed() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = 'workflow_audit_append'")
            return cursor.fetchone()[0] == 1

    assert installed()
    call_command("migrate", "workflow", "0006", verbosity=0)
    try:
        assert not installed()
    finally:
        call_command("migrate", "workflow", verbosity=0)
    assert installed()
    record_history({"system": 1})
    assert verify_chains().intact


@pytest.mark.django_db(transaction=True)
def test_the_one_update_append_migration_is_reversible_and_the_chain_goes_on_across_it() -> None:
    def body() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'workflow_audit_append'")
            return cursor.fetchone()[0]

    def head_keeps_links() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM information_schema.columns"
                " WHERE table_name = 'workflow_auditstreamhead' AND column_name = 'prev_hash'"
            )
            return cursor.fetchone()[0] == 1

    assert "FOR UPDATE" not in body() and head_keeps_links()
    call_command("migrate", "workflow", "0007", verbosity=0)
    try:
        assert "FOR UPDATE" in body() and not head_keeps_links()
        record_history({"system": 2})  # migration 0007's function, called as record calls it
    finally:
        call_command("migrate", "workflow", verbosity=0)
    assert "FOR UPDATE" not in body()
    third = record("test.after", actor=None, stream="system")
    assert (third.seq, third.prev_hash) == (3, AuditEvent.objects.get(stream="system", seq=2).hash)
    head = AuditStreamHead.objects.get(stream="system")
    assert (head.seq, head.prev_hash) == (3, third.prev_hash)
    assert verify_chains().intact


@pytest.mark.django_db
def test_stopping_at_the_first_break_cancels_the_rest_of_the_read() -> None:
    """The rows come from one streamed query: a walk that stops early must leave the connection
    usable (here 5,000 unchained rows follow the broken first event)."""
    record_history({"disclosureorder:DO-A": 2})
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO workflow_auditevent (stream, seq, occurred_at, actor, actor_role, action,"
            " object_ref, data_json, prev_hash, hash) SELECT 'disclosureorder:DO-B', n, now(), '', '',"
            " 'test.bulk', '', '{}', repeat('0', 64), md5(n::text) || md5(n::text)"
            " FROM generate_series(1, 5000) AS n"
        )
    report = verify_chains(stop_at_first=True)
    assert [(b.stream, b.seq) for b in report.breaks] == [("disclosureorder:DO-B", 1)]
    assert AuditEvent.objects.count() == 5002

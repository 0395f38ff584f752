"""On PostgreSQL the audit table is append-only, and concurrent appends keep one clean chain."""

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from tests.audit_support import record_history
from workflow.audit import record
from workflow.audit.verify import verify_chains
from workflow.models import AuditEvent

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
def test_verification_reads_awkward_text_exactly_and_in_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """COPY escapes backslashes, tabs and newlines; the parallel verifier must undo that exactly."""
    from workflow.audit import verify

    awkward = {"note": "tab\there\\back\nslash\r\x0b\x0c\x08 «فارسی» \U0001f600", "path": "C:\\new"}
    for n in range(30):
        record(
            "test.awkward", actor=None, stream=f"disclosureorder:DO-{n % 3}\t\\x", obj="ref:\n1", data=awkward
        )
    monkeypatch.setattr(verify, "PARALLEL_ABOVE", 0)
    report = verify_chains()
    assert report.intact, report.breaks
    assert (report.events, report.streams) == (30, 3)
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "UPDATE workflow_auditevent SET data_json = replace(data_json, 'tab', 'tap') WHERE seq = 7"
        )
        cursor.execute("SET session_replication_role = origin")
    broken = verify_chains()
    assert [(b.stream, b.seq) for b in broken.breaks] == [
        (f"disclosureorder:DO-{n}\t\\x", 7) for n in range(3)
    ]

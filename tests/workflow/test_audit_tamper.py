"""Tampering with the audit trail through raw SQL is caught by ``manage.py verify_audit``.

Each case runs twice: on chains alone, and with a signed checkpoint in the witness taken before
the attack. Some attacks (a tail cut together with its head row, a whole table replaced by a
consistent fake chain) only the checkpoint can reveal.
"""

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from tests.audit_support import raw_sql, record_history, verify_audit
from workflow.audit.canonical import event_hash
from workflow.models import AuditEvent, AuditStreamHead, Checkpoint

A, B = "disclosureorder:DO-A", "disclosureorder:DO-B"
HISTORY = {A: 5, B: 3, "system": 2}
pytestmark = pytest.mark.django_db


@pytest.fixture(params=["chains alone", "with a checkpoint"])
def trail(request: Any, signing: Any) -> bool:
    record_history(HISTORY)
    if request.param == "with a checkpoint":
        call_command("checkpoint_audit", stdout=StringIO())
        return True
    return False


def forged_fields(stream: str, seq: int, prev_hash: str, action: str) -> dict[str, Any]:
    return {
        "stream": stream,
        "seq": seq,
        "occurred_at": "2025-01-01T00:00:00.000000Z",
        "actor": "system",
        "actor_role": "system",
        "action": action,
        "object_ref": "",
        "data_json": "{}",
        "prev_hash": prev_hash,
    }


def insert_forged(stream: str, seq: int, prev_hash: str, action: str = "test.forged") -> str:
    fields = forged_fields(stream, seq, prev_hash, action)
    digest = event_hash(**fields)
    raw_sql(
        "INSERT INTO workflow_auditevent (stream, seq, occurred_at, actor, actor_role, action, object_ref,"
        " data_json, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [stream, seq, "2025-01-01 00:00:00+00:00", "system", "system", action, "", "{}", prev_hash, digest],
    )
    return digest


def hash_of(stream: str, seq: int) -> str:
    return AuditEvent.objects.get(stream=stream, seq=seq).hash


def assert_broken_at(stream: str, seq: int) -> str:
    code, output = verify_audit()
    assert code == 1, output
    assert f"first broken event is stream {stream!r} seq {seq}" in output, output
    return output


def test_an_intact_trail_verifies_with_its_counts(trail: bool) -> None:
    code, output = verify_audit()
    assert code == 0
    assert "10 events in 3 streams verified" in output
    assert ("checked against checkpoint 1" in output) is trail


def test_an_altered_field_is_named_by_stream_and_seq(trail: bool) -> None:
    raw_sql("UPDATE workflow_auditevent SET action = 'test.innocent' WHERE stream = %s AND seq = 3", [A])
    assert "altered" in assert_broken_at(A, 3)


def test_asking_for_more_processes_names_the_same_first_broken_event(trail: bool, settings: Any) -> None:
    """SQLite (and a run inside a transaction) verifies in one process whatever is asked."""
    settings.AUDIT_VERIFY_PROCESSES = 4
    raw_sql("UPDATE workflow_auditevent SET action = 'test.innocent' WHERE stream = %s AND seq = 3", [B])
    assert "altered" in assert_broken_at(B, 3)


def test_altered_data_is_caught_too(trail: bool) -> None:
    raw_sql("UPDATE workflow_auditevent SET data_json = '{\"n\":99}' WHERE stream = %s AND seq = 2", [B])
    assert_broken_at(B, 2)


def test_a_deleted_middle_event_is_named(trail: bool) -> None:
    raw_sql("DELETE FROM workflow_auditevent WHERE stream = %s AND seq = 3", [A])
    assert "missing" in assert_broken_at(A, 3)


def test_a_deleted_tail_is_named(trail: bool) -> None:
    raw_sql("DELETE FROM workflow_auditevent WHERE stream = %s AND seq = 5", [A])
    assert_broken_at(A, 5)


def test_an_event_inserted_in_the_middle_is_caught_where_the_chain_no_longer_holds(trail: bool) -> None:
    """The forger renumbers 3–5 to 4–6 and chains a new event 3 to event 2 correctly: the old
    event 3, now at seq 4, no longer matches its own hash."""
    for seq in (5, 4, 3):
        raw_sql("UPDATE workflow_auditevent SET seq = seq + 1 WHERE stream = %s AND seq = %s", [A, seq])
    insert_forged(A, 3, hash_of(A, 2))
    assert_broken_at(A, 4)


def test_an_event_appended_behind_the_recorded_head_is_caught(trail: bool) -> None:
    insert_forged(A, 6, hash_of(A, 5))
    assert "appended behind the recorded head" in assert_broken_at(A, 6)


def test_two_swapped_events_are_caught_at_the_first_of_them(trail: bool) -> None:
    raw_sql("UPDATE workflow_auditevent SET seq = 1000 WHERE stream = %s AND seq = 2", [A])
    raw_sql("UPDATE workflow_auditevent SET seq = 2 WHERE stream = %s AND seq = 3", [A])
    raw_sql("UPDATE workflow_auditevent SET seq = 3 WHERE stream = %s AND seq = 1000", [A])
    assert_broken_at(A, 2)


def test_a_whole_stream_deleted_with_its_head_is_caught_only_by_the_checkpoint(trail: bool) -> None:
    raw_sql("DELETE FROM workflow_auditevent WHERE stream = %s", [B])
    raw_sql("DELETE FROM workflow_auditstreamhead WHERE stream = %s", [B])
    code, output = verify_audit()
    if not trail:
        assert code == 0  # the chains alone cannot know the stream existed
        return
    assert code == 1
    assert f"stream {B!r} seq 1" in output
    assert "signed in checkpoint 1" in output


def test_a_tail_cut_together_with_the_heads_table_is_caught_back_to_the_checkpoint(trail: bool) -> None:
    raw_sql("DELETE FROM workflow_auditevent WHERE stream = %s AND seq >= 4", [A])
    raw_sql(
        "UPDATE workflow_auditstreamhead SET seq = 3, hash = %s, checkpointed_seq = 3 WHERE stream = %s",
        [hash_of(A, 3), A],
    )
    code, output = verify_audit()
    if not trail:
        assert code == 0, output  # consistent on its face: this is what checkpoints are for
        return
    assert code == 1
    assert f"first broken event is stream {A!r} seq 4" in output
    assert "events 4–5 were signed in checkpoint 1 and are missing" in output


def test_a_table_replaced_by_a_consistent_fake_chain_is_caught_by_the_checkpoint(trail: bool) -> None:
    """Someone with database rights rewrites all of history, heads and checkpoint rows included,
    with chains that are perfectly consistent in themselves."""
    raw_sql("DELETE FROM workflow_auditevent")
    raw_sql("DELETE FROM workflow_auditstreamhead")
    raw_sql("DELETE FROM workflow_checkpoint")
    for stream, count in HISTORY.items():
        prev = "0" * 64
        for seq in range(1, count + 1):
            prev = insert_forged(stream, seq, prev, action="test.rewritten")
        raw_sql(
            "INSERT INTO workflow_auditstreamhead (stream, seq, hash, updated_at, checkpointed_seq)"
            " VALUES (%s, %s, %s, %s, 0)",
            [stream, count, prev, "2025-01-01 00:00:00+00:00"],
        )
    code, output = verify_audit()
    if not trail:
        assert code == 0, output
        return
    assert code == 1
    assert f"first broken event is stream {A!r} seq 5" in output
    assert "differs from the one signed in checkpoint 1" in output


def test_events_after_the_checkpoint_are_still_held_by_their_chains(trail: bool) -> None:
    record_history({A: 2})  # A now has 7 events, 2 of them after the checkpoint
    raw_sql("UPDATE workflow_auditevent SET action = 'test.innocent' WHERE stream = %s AND seq = 6", [A])
    assert_broken_at(A, 6)


def test_a_later_checkpoint_extends_the_earlier_one(signing: Any) -> None:
    record_history(HISTORY)
    call_command("checkpoint_audit", stdout=StringIO())
    record_history({B: 2, "disclosureorder:DO-C": 1})
    call_command("checkpoint_audit", stdout=StringIO())
    second = Checkpoint.objects.get(number=2)
    assert second.tree_size == 13
    assert second.ranges == [
        [B, 4, 5, hash_of(B, 5)],
        ["disclosureorder:DO-C", 1, 1, hash_of("disclosureorder:DO-C", 1)],
    ]
    assert AuditStreamHead.objects.get(stream=B).checkpointed_seq == 5
    assert verify_audit()[0] == 0


def test_a_checkpoint_with_nothing_new_signs_nothing(signing: Any) -> None:
    record_history({A: 1})
    call_command("checkpoint_audit", stdout=StringIO())
    call_command("checkpoint_audit", stdout=StringIO())
    assert Checkpoint.objects.count() == 1


def test_an_edited_witness_file_is_refused(signing: Any) -> None:
    record_history(HISTORY)
    call_command("checkpoint_audit", stdout=StringIO())
    path = signing.key.parent.parent / "witness" / "checkpoints" / "000000000001.json"
    signed = json.loads(path.read_text())
    signed["statement"] = signed["statement"].replace('"streams":3', '"streams":4')
    path.write_text(json.dumps(signed))
    code, output = verify_audit()
    assert code == 1
    assert "signature does not match" in output


def test_a_witness_with_a_missing_checkpoint_is_refused(signing: Any) -> None:
    for n in range(3):
        record_history({f"disclosureorder:DO-{n}": 1})
        call_command("checkpoint_audit", stdout=StringIO())
    (signing.key.parent.parent / "witness" / "checkpoints" / "000000000002.json").unlink()
    code, output = verify_audit()
    assert code == 1
    assert "checkpoint 3 where 2 was due" in output


def test_a_checkpoint_signed_by_a_key_the_ca_did_not_certify_is_refused(signing: Any, tmp_path: Any) -> None:
    from workflow.keys import SigningPaths, ensure_demo_signing_material

    record_history(HISTORY)
    call_command("checkpoint_audit", stdout=StringIO())
    other = tmp_path / "other"
    ensure_demo_signing_material(
        SigningPaths(other / "k.pem", other / "c.pem", other / "ca.pem"), store_name="X"
    )
    signing.ca_cert.write_bytes((other / "ca.pem").read_bytes())
    code, output = verify_audit()
    assert code == 1
    assert "was not issued by the store's CA" in output


def test_the_beat_jobs_checkpoint_and_verify_idempotently(signing: Any) -> None:
    from workflow.audit.tasks import make_checkpoint_task, verify_trail_task

    record_history(HISTORY)
    assert make_checkpoint_task() == 1
    assert make_checkpoint_task() is None  # nothing new: nothing signed
    assert (signing.key.parent.parent / "witness" / "checkpoints" / "000000000001.json").exists()
    assert verify_trail_task() is True
    verified = AuditEvent.objects.filter(action="audit.verified").get()
    assert verified.data["intact"] is True
    assert verified.data["checkpoint"] == 1

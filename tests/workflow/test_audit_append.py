"""An append, on SQLite and PostgreSQL alike: chained to its stream's head in the caller's
transaction, failing that transaction when it fails, and a transaction of its own when called
outside one."""

from unittest import mock

import pytest
from django.db import DatabaseError, connection, transaction

from workflow import freshness
from workflow.audit import record, trail
from workflow.audit.canonical import GENESIS_HASH
from workflow.audit.verify import verify_chains
from workflow.models import AuditEvent, AuditStreamHead

ORDER = "disclosureorder:DO-APPEND"


@pytest.mark.django_db
def test_the_head_moves_to_each_event_and_keeps_the_link_it_replaced() -> None:
    first = record("test.first", actor=None, stream=ORDER, data={"n": 1})
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    head = AuditStreamHead.objects.get(stream=ORDER)
    assert (head.seq, head.hash, head.prev_hash) == (1, first.hash, GENESIS_HASH)
    second = record("test.second", actor=None, stream=ORDER, data={"n": 2})
    assert (second.seq, second.prev_hash) == (2, first.hash)
    head.refresh_from_db()
    assert (head.seq, head.hash, head.prev_hash) == (2, second.hash, first.hash)
    stored = AuditEvent.objects.get(pk=second.pk)
    assert [getattr(stored, f.attname) for f in AuditEvent._meta.concrete_fields] == [
        getattr(second, f.attname) for f in AuditEvent._meta.concrete_fields
    ]
    assert not second._state.adding
    assert verify_chains().intact


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_an_append_is_a_transaction_of_its_own() -> None:
    stored_before = freshness.tokens([ORDER])[ORDER]
    event = record("test.alone", actor=None, stream=ORDER)
    assert AuditEvent.objects.get(pk=event.pk).hash == event.hash
    assert freshness.tokens([ORDER])[ORDER] != stored_before
    assert connection.run_on_commit == []  # the renewal at its commit ran


@pytest.mark.django_db(transaction=True)
def test_a_failed_append_fails_the_callers_transaction_even_when_the_caller_catches_it() -> None:
    """No savepoint: the caller cannot go on and commit its change without the event."""
    broken = "SELECT * FROM workflow_no_such_table"
    with transaction.atomic():
        record("test.kept", actor=None, stream=ORDER)
        with (
            mock.patch.object(trail, "_APPEND_PG", broken),
            mock.patch.object(trail, "_READ_HEAD", broken),
            pytest.raises(DatabaseError),
        ):
            record("test.failed", actor=None, stream=ORDER)
        assert connection.needs_rollback
    assert not AuditEvent.objects.exists()
    assert not AuditStreamHead.objects.exists()

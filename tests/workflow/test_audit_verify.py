"""verify_audit re-derives each event's bytes exactly, whatever names the events carry.

The walk remembers the JSON spelling of repeated actors, roles, actions and objects, and spells
an object that is the stream itself like the stream: none of that may change a single byte.
"""

from typing import Any

import pytest

from tests.audit_support import raw_sql
from workflow.audit import Actor, record
from workflow.audit import verify as verify_module
from workflow.audit.verify import verify_chains

pytestmark = pytest.mark.django_db

STREAM = "disclosureorder:DO-«۱۴۰۳»"
EVENTS: list[dict[str, Any]] = [
    {"action": "order.viewed", "actor": Actor("user:1", "legal_officer"), "obj": STREAM},
    {"action": "order.viewed", "actor": Actor("user:1", "legal_officer"), "obj": STREAM},
    {"action": "", "actor": Actor("", ""), "obj": None},  # empty action is "", empty others null
    {"action": "order.viewed", "actor": Actor("user:2", ""), "obj": "package:7"},
    {"action": 'say "نه"\\', "actor": Actor("customer:«x»\n", "customer"), "obj": "package:7"},
    {"action": "null", "actor": Actor("null", "null"), "obj": "null"},  # the word, not the value
    {"action": "order.viewed", "actor": Actor("", "legal_officer"), "obj": ""},
]


@pytest.mark.parametrize("remembered", [50_000, 2, 1])
def test_events_with_empty_odd_and_repeated_names_verify_intact(
    remembered: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_module, "_SPELLINGS", remembered)
    for stream in (STREAM, "system", ""):
        for event in EVENTS:
            record(event["action"], actor=event["actor"], stream=stream, obj=event["obj"], data={"k": 1})
    report = verify_chains()
    assert report.intact, report.breaks
    assert (report.events, report.streams) == (3 * len(EVENTS), 3)


def test_a_name_altered_after_it_was_remembered_is_still_caught() -> None:
    for _ in range(4):
        record("order.viewed", actor=Actor("user:1", "legal_officer"), stream=STREAM, obj=STREAM)
    raw_sql("UPDATE workflow_auditevent SET actor_role = 'approver' WHERE seq = 3")
    raw_sql("UPDATE workflow_auditevent SET object_ref = '' WHERE seq = 4")
    report = verify_chains()
    assert [(b.stream, b.seq) for b in report.breaks] == [(STREAM, 3)]
    assert "altered" in report.breaks[0].problem

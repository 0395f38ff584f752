"""The audit trail's fast canonical encoding is RFC 8785 (JCS), byte for byte."""

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.audit.canonical import NotCanonicalisable, canonical_data, event_bytes, event_parts

SAFE = 2**53 - 1
scalars = st.none() | st.booleans() | st.integers(-SAFE, SAFE) | st.text()
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
event_text = st.text(min_size=0, max_size=30)


@settings(max_examples=400)
@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_event_data_is_encoded_exactly_as_the_rfc8785_library_encodes_it(data: dict[str, Any]) -> None:
    assert canonical_data(data).encode() == rfc8785.dumps(data)


def test_keys_beyond_the_basic_plane_sort_by_utf16_code_units_as_jcs_requires() -> None:
    data = {"\U00010000": 1, "\uffff": 2, "a": 3}
    assert canonical_data(data).encode() == rfc8785.dumps(data)
    assert list(json.loads(canonical_data(data))) == ["a", "\U00010000", "\uffff"]


@settings(max_examples=300)
@given(
    stream=st.text(min_size=1, max_size=40),
    seq=st.integers(1, SAFE),
    actor=event_text,
    role=event_text,
    action=st.text(min_size=1, max_size=40),
    obj=event_text,
    data=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)
def test_a_whole_event_is_encoded_exactly_as_the_rfc8785_library_encodes_it(
    stream: str, seq: int, actor: str, role: str, action: str, obj: str, data: dict[str, Any]
) -> None:
    fields = {
        "stream": stream,
        "seq": seq,
        "occurred_at": "2025-03-20T10:11:12.000123Z",
        "actor": actor,
        "actor_role": role,
        "action": action,
        "object_ref": obj,
        "prev_hash": "ab" * 32,
    }
    as_document = {
        "stream": stream,
        "seq": seq,
        "occurred_at": fields["occurred_at"],
        "actor": actor or None,
        "role": role or None,
        "action": action,
        "object": obj or None,
        "data": data,
        "prev_hash": "ab" * 32,
    }
    assert event_bytes(**fields, data_json=canonical_data(data)) == rfc8785.dumps(as_document)


@pytest.mark.parametrize("bad", [{"amount": 1.5}, {"big": 2**60}, {1: "x"}, {"when": object()}])
def test_values_without_one_canonical_spelling_are_refused(bad: dict[Any, Any]) -> None:
    with pytest.raises(NotCanonicalisable):
        canonical_data(bad)


@given(stream=st.text(min_size=1, max_size=40), seq=st.integers(1, SAFE))
def test_a_checkpoint_head_leaf_is_jcs_too(stream: str, seq: int) -> None:
    from workflow.audit.checkpoint import head_leaf

    assert head_leaf(stream, seq, "cd" * 32) == rfc8785.dumps(
        {"stream": stream, "seq": seq, "hash": "cd" * 32}
    )


@settings(max_examples=300)
@given(
    stream=st.text(min_size=1, max_size=40),
    seq=st.integers(1, SAFE),
    actor=event_text,
    role=event_text,
    action=st.text(min_size=1, max_size=40),
    obj=event_text,
    data=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    prev_hash=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)
def test_the_parts_the_database_fills_in_make_the_same_bytes_as_the_whole_encoding(
    stream: str, seq: int, actor: str, role: str, action: str, obj: str, data: dict[str, Any], prev_hash: str
) -> None:
    """On PostgreSQL the append is hashed from three parts around prev_hash and seq (the database
    fills those two in from the head it locks): joined, they are exactly the Python encoding."""
    fields = {
        "stream": stream,
        "occurred_at": "2025-03-20T10:11:12.000123Z",
        "actor": actor,
        "actor_role": role,
        "action": action,
        "object_ref": obj,
        "data_json": canonical_data(data),
    }
    before, between, after = event_parts(**fields)
    whole = event_bytes(**fields, seq=seq, prev_hash=prev_hash)
    assert f"{before}{prev_hash}{between}{seq}{after}".encode() == whole

"""Canonical encoding of audit events: RFC 8785 (JCS), built fast.

Event data carry only strings, integers (within ±2⁵³−1), booleans, null, lists and objects — no
floats — and for such values Python's ``json.dumps(separators=(",", ":"), ensure_ascii=False)``
over objects whose keys are put in UTF-16 order (JCS sorts by UTF-16 code units, Python by code
points: they differ above U+FFFF) produces exactly the JCS bytes (the property test in
``tests/workflow/test_audit_canonical.py`` checks this against the ``rfc8785`` library).
The event envelope is assembled from pre-escaped fields in JCS key order, which keeps
``verify_audit`` within a small factor of raw hashing.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any

GENESIS_HASH = "0" * 64
_SAFE_INTEGER = 2**53 - 1  # JCS numbers are IEEE doubles: larger integers have no exact spelling


class NotCanonicalisable(TypeError):
    pass


def _check(value: Any) -> None:
    if isinstance(value, float):
        raise NotCanonicalisable("audit data may not hold floats; store them as strings")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonicalisable("audit data keys must be strings")
            _check(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check(item)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > _SAFE_INTEGER:
        raise NotCanonicalisable(
            "audit data integers must lie within ±(2**53 − 1); store larger ones as strings"
        )
    elif not (value is None or isinstance(value, str | int | bool)):
        raise NotCanonicalisable(f"audit data may not hold {type(value).__name__}")


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _jcs_ordered(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _jcs_ordered(value[key]) for key in sorted(value, key=_utf16_key)}
    if isinstance(value, list | tuple):
        return [_jcs_ordered(item) for item in value]
    return value


def _ordered(value: Any) -> Any:
    """``_check`` and ``_jcs_ordered`` in one pass, fast for the usual exact types; anything
    else goes the long way."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if -_SAFE_INTEGER <= value <= _SAFE_INTEGER:
            return value
    elif kind is dict:
        keys = list(value)
        # Keys within the basic plane sort alike by code point (Python) and by UTF-16 unit (JCS).
        if all(type(key) is str and (key.isascii() or max(key) < "\U00010000") for key in keys):
            keys.sort()
            return {key: _ordered(value[key]) for key in keys}
    elif kind is list:
        return [_ordered(item) for item in value]
    _check(value)
    return _jcs_ordered(value)


_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def canonical_data(data: Mapping[str, Any]) -> str:
    return _ENCODE(_ordered(data))


def format_time(moment: dt.datetime) -> str:
    """UTC, microseconds, 'Z': one spelling for one instant."""
    if moment.tzinfo is not dt.UTC:
        moment = moment.astimezone(dt.UTC)
    if moment.year >= 1000:  # isoformat pads the year to four digits, strftime's %Y does not
        return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # less "+00:00"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def json_string_or_null(value: str) -> str:
    """How the envelope spells an optional text field: a JSON string, or ``null`` when empty."""
    return encode_basestring(value) if value else "null"


def event_layout(
    stream_json: str,
    occurred_at: str,
    actor_json: str,
    role_json: str,
    action_json: str,
    object_json: str,
    data_json: str,
) -> tuple[str, str, str]:
    """The JCS text of one event around its two chain fields, which only the stream's head
    decides: the event is ``before + prev_hash + between + str(seq) + after``.

    The one spelling of the envelope (keys in sorted order; values already JSON). ``encode_event``
    fills the holes in Python; on PostgreSQL ``record`` sends the three parts and the database
    fills them from the head it has locked (``workflow_audit_append``), so both hash the same bytes.
    """
    return (
        f'{{"action":{action_json},"actor":{actor_json},"data":{data_json},"object":{object_json},'
        f'"occurred_at":"{occurred_at}","prev_hash":"',
        f'","role":{role_json},"seq":',
        f',"stream":{stream_json}}}',
    )


def event_parts(
    *,
    stream: str,
    occurred_at: str,
    actor: str,
    actor_role: str,
    action: str,
    object_ref: str,
    data_json: str,
) -> tuple[str, str, str]:
    """``event_layout`` from the event's own fields (``data_json`` already canonical)."""
    return event_layout(
        encode_basestring(stream),
        occurred_at,
        json_string_or_null(actor),
        json_string_or_null(actor_role),
        encode_basestring(action),
        json_string_or_null(object_ref),
        data_json,
    )


def encode_event_json(
    stream_json: str,
    seq: int,
    occurred_at: str,
    actor_json: str,
    role_json: str,
    action_json: str,
    object_json: str,
    data_json: str,
    prev_hash: str,
) -> bytes:
    """The JCS bytes of one event from its values already spelt as JSON (``json_string_or_null``
    for the optional ones). (``event_layout`` written out in one f-string, for speed; a test holds
    the two equal. ``verify_audit``'s walk writes the same f-string out inline, saving a call per
    event; its tests verify events of every awkward spelling through it.)"""
    return (
        f'{{"action":{action_json},"actor":{actor_json},"data":{data_json},"object":{object_json},'
        f'"occurred_at":"{occurred_at}","prev_hash":"{prev_hash}","role":{role_json},"seq":{seq},'
        f'"stream":{stream_json}}}'
    ).encode()


def encode_event(
    stream_json: str,
    seq: int,
    occurred_at: str,
    actor: str,
    actor_role: str,
    action: str,
    object_ref: str,
    data_json: str,
    prev_hash: str,
) -> bytes:
    """The JCS bytes of one event, positional and with the stream already JSON-escaped
    (``data_json`` already canonical)."""
    return encode_event_json(
        stream_json,
        seq,
        occurred_at,
        json_string_or_null(actor),
        json_string_or_null(actor_role),
        encode_basestring(action),
        json_string_or_null(object_ref),
        data_json,
        prev_hash,
    )


def event_bytes(
    *,
    stream: str,
    seq: int,
    occurred_at: str,
    actor: str,
    actor_role: str,
    action: str,
    object_ref: str,
    data_json: str,
    prev_hash: str,
) -> bytes:
    """The JCS encoding of one event (``data_json`` already canonical)."""
    return encode_event(
        encode_basestring(stream),
        seq,
        occurred_at,
        actor,
        actor_role,
        action,
        object_ref,
        data_json,
        prev_hash,
    )


def event_hash(**fields: Any) -> str:
    return hashlib.sha256(event_bytes(**fields)).hexdigest()

"""The append-only, hash-chained audit trail (DESIGN §4).

``record`` is the only writer. It joins the caller's transaction, so an event is committed
with the change it records or not at all.
"""

from .trail import (
    SYSTEM_STREAM,
    Actor,
    actor_of,
    record,
    record_refusal,
    stream_for,
)

__all__ = ["SYSTEM_STREAM", "Actor", "actor_of", "record", "record_refusal", "stream_for"]

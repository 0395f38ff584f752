"""Re-derive every chain and compare it with what is stored (``manage.py verify_audit``)."""

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from workflow.models import AuditEvent, AuditStreamHead

from .canonical import GENESIS_HASH, event_bytes, format_time


@dataclass(frozen=True)
class Break:
    stream: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"stream {self.stream!r}, seq {self.seq}: {self.problem}"


@dataclass
class Report:
    events: int = 0
    streams: int = 0
    breaks: list[Break] = field(default_factory=list)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return not self.breaks

    @property
    def first_break(self) -> Break | None:
        return self.breaks[0] if self.breaks else None


_COLUMNS = (
    "stream",
    "seq",
    "occurred_at",
    "actor",
    "actor_role",
    "action",
    "object_ref",
    "data_json",
    "prev_hash",
    "hash",
)


def _rows(chunk_size: int) -> Iterator[tuple]:  # type: ignore[type-arg]
    return AuditEvent.objects.order_by("stream", "seq").values_list(*_COLUMNS).iterator(chunk_size=chunk_size)


# stream -> (seq, hash, checkpoint number): each stream's head as the signed checkpoints recorded it
Promises = Mapping[str, tuple[int, str, int]]


def verify_chains(
    *, stop_at_first: bool = False, chunk_size: int = 20_000, checkpointed: Promises | None = None
) -> Report:
    """Walk every stream in (stream, seq) order; report each break, the first one first.

    Caught: an altered field (the hash no longer matches), a deleted event (a gap in seq, or
    a prev_hash that is not its predecessor's hash), an inserted or reordered event (the same),
    and a truncated tail (the stream head records a later event than the last one found).
    With ``checkpointed`` (from the witness), also what someone with database rights could
    hide from the chains alone: a tail cut together with its head row, and a stream (or the
    whole table) replaced by a consistent fake chain — back to the last checkpoint.
    """
    report = Report()
    promises = dict(checkpointed or {})
    promise: tuple[int, str, int] | None = None
    stored_heads = dict(AuditStreamHead.objects.values_list("stream", "seq"))
    sha256 = hashlib.sha256
    current: str | None = None
    expected_seq = 1
    expected_prev = GENESIS_HASH
    stream_broken = False

    def close_stream(stream: str, last_seq: int, last_hash: str) -> None:
        report.heads[stream] = (last_seq, last_hash)
        head_seq = stored_heads.pop(stream, None)
        signed = promises.pop(stream, None)
        if signed and last_seq < signed[0]:
            report.breaks.append(
                Break(
                    stream,
                    last_seq + 1,
                    f"events {last_seq + 1}–{signed[0]} were signed in checkpoint {signed[2]} and are missing",
                )
            )
            return
        if head_seq is None:
            report.breaks.append(Break(stream, last_seq, "the stream has no recorded head"))
        elif head_seq > last_seq:
            report.breaks.append(
                Break(stream, last_seq + 1, f"events {last_seq + 1}–{head_seq} are missing from the end")
            )
        elif head_seq < last_seq:
            report.breaks.append(Break(stream, head_seq + 1, "events were appended behind the recorded head"))

    last_seq, last_hash = 0, GENESIS_HASH
    for stream, seq, occurred_at, actor, role, action, obj, data_json, prev_hash, digest in _rows(chunk_size):
        if stream != current:
            if current is not None:
                close_stream(current, last_seq, last_hash)
            current, expected_seq, expected_prev, stream_broken = stream, 1, GENESIS_HASH, False
            promise = promises.get(stream)
            report.streams += 1
        report.events += 1
        last_seq, last_hash = seq, digest
        if stream_broken:
            continue
        problem, broken_seq = None, seq
        if seq != expected_seq:
            # Name the first seq that is not where it should be: the missing one.
            problem = f"expected seq {expected_seq}, found {seq} (an event is missing or was moved)"
            broken_seq = min(seq, expected_seq)
        elif prev_hash != expected_prev:
            problem = "prev_hash does not match the previous event's hash (inserted, removed or reordered)"
        else:
            recomputed = sha256(
                event_bytes(
                    stream=stream,
                    seq=seq,
                    occurred_at=format_time(occurred_at),
                    actor=actor,
                    actor_role=role,
                    action=action,
                    object_ref=obj,
                    data_json=data_json,
                    prev_hash=prev_hash,
                )
            ).hexdigest()
            if recomputed != digest:
                problem = "the event's content does not match its hash (altered)"
            elif promise is not None and seq == promise[0] and digest != promise[1]:
                problem = (
                    f"the stream up to this event differs from the one signed in checkpoint {promise[2]} "
                    "(rewritten after it was signed)"
                )
        if problem:
            report.breaks.append(Break(stream, broken_seq, problem))
            stream_broken = True  # the rest of this stream cannot be trusted; go on to the next
            if stop_at_first:
                return report
        expected_seq, expected_prev = seq + 1, digest
    if current is not None:
        close_stream(current, last_seq, last_hash)
    for stream, head_seq in sorted(stored_heads.items()):
        if head_seq > 0 and stream not in promises:
            report.breaks.append(Break(stream, 1, f"all {head_seq} events of the stream are missing"))
    for stream, (seq, _digest, number) in sorted(promises.items()):
        report.breaks.append(Break(stream, 1, f"all {seq} events signed in checkpoint {number} are missing"))
    report.breaks.sort(key=lambda b: (b.stream, b.seq))
    return report

"""Re-derive every chain and compare it with what is stored (``manage.py verify_audit``).

Built for speed, since it reads every event, and with the trust it always had: the database
returns the columns it stores (the time already spelt as the canonical encoding spells it, an
object that is the event's own stream as NULL), and every event's bytes are spelt and hashed
here, in Python, an independent check of the hash the database's ``sha256()`` computed at append.

On PostgreSQL the rows come from one query the server keeps streaming in chunks (libpq's chunked
rows mode), each chunk turned into tuples by one C call; the walk spells each event with the
layout of ``canonical.encode_event_json`` written out inline and names remembered. The streams
are split into ranges verified by that many processes: ``verify_audit --processes`` or
``AUDIT_VERIFY_PROCESSES``, by default ("auto") two for a trail of 100,000 events or more on a host
with two CPUs or more, else one. On SQLite the ORM gives the same rows (``_portable_rows``).

Measured and not kept (README, "what limits"): spelling the canonical text in the query (to_json
of each name, one concatenation: ~4 µs of server CPU per event, three times the row's), chunks of
aggregated columns split in Python (more CPU on both sides than rows), hashing in SQL (the
database's own sha256 would vouch for the hash it wrote), and the time sent raw or as text and
spelt here (dearer in Python than ``to_char`` is in the server, and the verifier's CPU is the
scarcer).
"""

import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from json.encoder import encode_basestring
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction

from workflow.models import AuditEvent, AuditStreamHead

from .canonical import GENESIS_HASH, format_time, json_string_or_null

_BATCH = 20_000
_STREAM_CHUNK = 2_000  # rows per chunk of the server's stream
_READ_BUFFER = 1 << 20  # bytes libpq may take from the socket per read (see _streamed_rows)
_SPELLINGS = 50_000  # names whose JSON spelling a walk remembers, at most
# "auto" processes: two from this many events, on a host with two CPUs or more (bench/audit.py:
# two processes verify 1,000,000 events faster than one whenever the CPUs are not all taken)
_AUTOMATIC_FROM_EVENTS = 100_000
_AUTOMATIC_PROCESSES = 2


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
    processes: int = 1  # how many processes walked the streams

    @property
    def intact(self) -> bool:
        return not self.breaks

    @property
    def first_break(self) -> Break | None:
        return self.breaks[0] if self.breaks else None


# stream -> (seq, hash, checkpoint number): each stream's head as the signed checkpoints recorded it
Promises = Mapping[str, tuple[int, str, int]]
Row = tuple[str, int, str, str, str, str, str | None, str, str, str]
_COLUMNS = "stream, seq, {time}, actor, actor_role, action, {object}, data_json, prev_hash, hash"
# The object when it is not the stream itself, else NULL (compared with pg_catalog's own operator).
_PG_OBJECT = "CASE WHEN object_ref OPERATOR(pg_catalog.=) stream THEN NULL ELSE object_ref END"
_PG_TIME = """pg_catalog.to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def _rows(low: str | None, high: str | None) -> Iterator[list[Row]]:
    """Batches of events in (stream, seq) order, streams in [low, high); the time spelt as the
    canonical encoding spells it, an object that is the event's own stream as None."""
    if connection.vendor != "postgresql":
        yield from _portable_rows(low, high)
        return
    where, params = [], []
    if low is not None:  # operators named in pg_catalog: none a database user made picks the rows
        where.append("stream OPERATOR(pg_catalog.>=) %s")
        params.append(low)
    if high is not None:
        where.append("stream OPERATOR(pg_catalog.<) %s")
        params.append(high)
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    # The table name comes from the model and the bounds are parameters: nothing from input.
    selected = _COLUMNS.format(time=_PG_TIME, object=_PG_OBJECT)
    sql = f"SELECT {selected} FROM {AuditEvent._meta.db_table}{condition} ORDER BY stream, seq"  # noqa: S608
    yield from _streamed_rows(sql, params)


def _portable_rows(low: str | None, high: str | None) -> Iterator[list[Row]]:
    """``_rows`` through the ORM: on SQLite, and for the tests that hold the two paths equal."""
    query = AuditEvent.objects.order_by("stream", "seq")
    if low is not None:
        query = query.filter(stream__gte=low)
    if high is not None:
        query = query.filter(stream__lt=high)
    columns = [c.strip() for c in _COLUMNS.format(time="occurred_at", object="object_ref").split(",")]
    batch: list[Row] = []
    for row in query.values_list(*columns).iterator(chunk_size=_BATCH):
        obj = None if row[6] == row[0] else row[6]
        batch.append((row[0], row[1], format_time(row[2]), *row[3:6], obj, *row[7:]))
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _streamed_rows(sql: str, params: list[str]) -> Iterator[list[Row]]:
    """One query whose rows the server keeps sending in chunks while the previous ones are
    checked (libpq's chunked rows mode), each chunk turned into tuples by psycopg in one C call
    (its Transformer, as its cursors use it): no server-side cursor's round trip per batch, no
    per-row Python step. (libpq older than 17 has no chunked mode: there psycopg's row-by-row
    stream gives the same rows, slower.)

    libpq reads the socket into its input buffer, as much as the buffer has room for, and the
    buffer only ever grows, to fit a message: a first message of ``_READ_BUFFER`` bytes makes each
    later read take up to that much instead of 16 kB (per million events, ~800 reads instead of
    ~18,000 reads and as many polls: ~5 % of the verifier's CPU). The buffer stays with the
    connection until it closes."""
    from psycopg import pq  # only ever reached on PostgreSQL
    from psycopg.adapt import Transformer

    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    if pq.version() < 170000:
        with raw.cursor() as cursor:
            rows = cursor.stream(sql, params)
            try:
                while batch := list(islice(rows, _BATCH)):
                    yield batch
            finally:
                rows.close()  # a walk that stops early cancels the rest of the query
        return
    with raw.cursor() as cursor:
        # Starts the transaction, if one is due, before the raw query; the value (never loaded
        # into Python) grows libpq's input buffer.
        cursor.execute("SELECT pg_catalog.repeat(' ', %s)", [_READ_BUFFER])
        transformer = Transformer(cursor)
    pgconn, encoding = raw.pgconn, raw.info.encoding
    numbered = sql
    for number in range(1, len(params) + 1):  # libpq's own placeholders: sent without psycopg's help
        numbered = numbered.replace("%s", f"${number}", 1)
    pgconn.send_query_params(numbered.encode(), [p.encode(encoding) for p in params])
    pgconn.set_chunked_rows_mode(_STREAM_CHUNK)
    done = False
    try:
        while (result := pgconn.get_result()) is not None:
            if result.status == pq.ExecStatus.TUPLES_CHUNK:
                transformer.set_pgresult(result)
                yield transformer.load_rows(0, result.ntuples, tuple)
            elif result.status != pq.ExecStatus.TUPLES_OK:
                raise DatabaseError(result.error_message.decode(encoding, "replace"))
        done = True
    finally:
        if not done:  # a walk that stops early cancels the rest of the query
            raw.cancel_safe()
            while pgconn.get_result() is not None:
                pass


@dataclass
class _Walk:
    events: int = 0
    breaks: list[Break] = field(default_factory=list)
    last: dict[str, tuple[int, str]] = field(default_factory=dict)  # per stream: last seq and hash seen


class _Spellings(dict[str, str]):
    """Names and their JSON spellings, each spelt once by ``canonical``'s own function (at most
    ``_SPELLINGS`` remembered); looked up by subscript, the cheapest lookup there is."""

    def __init__(self, spell: Callable[[str], str]) -> None:
        super().__init__()
        self.spell = spell

    def __missing__(self, name: str) -> str:
        if len(self) >= _SPELLINGS:
            self.clear()
        spelt = self[name] = self.spell(name)
        return spelt


def _walk(
    promises: Promises, low: str | None = None, high: str | None = None, stop_at_first: bool = False
) -> _Walk:
    """Check every event against its predecessor and its own hash (and a signed head, if any)."""
    walk = _Walk()
    last = walk.last
    sha256 = hashlib.sha256
    # Actors, roles, actions and objects repeat from event to event: their JSON spellings are
    # remembered. An object that is the stream itself, as most are, comes as None (the query
    # says so rather than sending it again) and is spelt like the stream, or null if "".
    optional = _Spellings(json_string_or_null)  # actor, role, object: "" is null
    actions = _Spellings(encode_basestring)
    current: str | None = None
    stream_json = stream_object = ""
    expected_seq, expected_prev, broken = 1, GENESIS_HASH, False
    promise: tuple[int, str, int] | None = None
    for batch in _rows(low, high):
        walk.events += len(batch)
        for stream, seq, when, actor, role, action, obj, data_json, prev_hash, digest in batch:
            if stream != current:
                if current is not None:
                    last[current] = (expected_seq - 1, expected_prev) if not broken else last[current]
                current, stream_json, promise = stream, encode_basestring(stream), promises.get(stream)
                stream_object = stream_json if stream else "null"
                expected_seq, expected_prev, broken = 1, GENESIS_HASH, False
            if broken:
                last[stream] = (seq, digest)
                continue
            if seq == expected_seq and prev_hash == expected_prev:
                if (
                    # canonical.encode_event_json, written out here (a call per event costs more
                    # than the f-string); the tests hold every spelling equal to the canonical one
                    sha256(
                        f'{{"action":{actions[action]},"actor":{optional[actor]},"data":{data_json},'
                        f'"object":{stream_object if obj is None else optional[obj]},"occurred_at":"{when}",'
                        f'"prev_hash":"{prev_hash}","role":{optional[role]},"seq":{seq},"stream":{stream_json}}}'.encode()
                    ).hexdigest()
                    == digest
                ):
                    if promise is None or seq != promise[0] or digest == promise[1]:
                        expected_seq, expected_prev = seq + 1, digest
                        continue
                    problem = (
                        f"the stream up to this event differs from the one signed in checkpoint {promise[2]} "
                        "(rewritten after it was signed)"
                    )
                else:
                    problem = "the event's content does not match its hash (altered)"
            elif seq != expected_seq:
                problem = f"expected seq {expected_seq}, found {seq} (an event is missing or was moved)"
                seq = min(seq, expected_seq)  # name the first seq that is not where it should be
            else:
                problem = (
                    "prev_hash does not match the previous event's hash (inserted, removed or reordered)"
                )
            walk.breaks.append(Break(stream, seq, problem))
            broken = True  # the rest of this stream cannot be trusted; go on to the next
            last[stream] = (seq, digest)
            if stop_at_first:
                return walk
        if current is not None and not broken:
            last[current] = (expected_seq - 1, expected_prev)
    return walk


def _walk_in_child(
    promises: Promises, low: str | None, high: str | None, snapshots: Any, results: Any
) -> None:
    """One range of streams, read in the parent's snapshot (its id comes through ``snapshots``;
    none comes if the parent failed before it could export one)."""
    # Nothing was open at the fork (closing an inherited connection here would end the parent's
    # session on the shared socket): this child's own opens with its first query.
    try:
        try:
            snapshot = snapshots.recv()
        except EOFError:
            return
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SET TRANSACTION SNAPSHOT %s", [snapshot])
            walk = _walk(promises, low, high)
        results.send(walk)
    finally:
        connections.close_all()
        results.close()


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """Everything read inside sees the trail as it was at one instant: the heads and the events
    of one committed state, whatever is appended meanwhile (a verification runs while officers
    work; an append between reading the heads and reading its stream would look like an event
    written behind the head). PostgreSQL: a read-only REPEATABLE READ transaction; SQLite: one
    read transaction is one snapshot already. Inside a caller's transaction, that transaction's
    isolation decides (the level can only be set before its first query)."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _head_sizes() -> list[tuple[str, int]]:
    """Every stream and its head's seq (how many events it holds), in stream order."""
    return list(AuditStreamHead.objects.order_by("stream").values_list("stream", "seq"))


def _split_points(parts: int, heads: list[tuple[str, int]] | None = None) -> list[str]:
    """Streams that cut the trail into ``parts`` ranges of roughly equal events (by the stream
    heads' sequence numbers, ``_head_sizes``); fewer when there are fewer streams."""
    heads = _head_sizes() if heads is None else heads
    total, before = sum(seq for _s, seq in heads), 0
    cuts: list[str] = []
    for stream, seq in heads:  # a cut is the first stream of the next range
        if before and len(cuts) < parts - 1 and before * parts >= total * (len(cuts) + 1):
            cuts.append(stream)
        before += seq
    return cuts


def _stored_heads() -> dict[str, int]:
    return dict(AuditStreamHead.objects.values_list("stream", "seq"))


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):  # the CPUs this process may run on (Linux)
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _automatic_processes(heads: list[tuple[str, int]]) -> int:
    """How many processes "auto" verifies in: ``_AUTOMATIC_PROCESSES`` for a trail of
    ``_AUTOMATIC_FROM_EVENTS`` events or more (by the stream ``heads``) when this host has as many
    CPUs, else one. (A verifier keeps a core busy and its server backend half of another: on two
    CPUs two of each finish sooner than one, and much sooner when the CPUs are free.)"""
    if _usable_cpus() < _AUTOMATIC_PROCESSES:
        return 1
    events = sum(seq for _stream, seq in heads)
    return _AUTOMATIC_PROCESSES if events >= _AUTOMATIC_FROM_EVENTS else 1


def _walk_all(
    promises: Promises, stop_at_first: bool, processes: int | None
) -> tuple[dict[str, int], _Walk, int]:
    """The stored heads, the walk of every stream, all read in one snapshot, and how many
    processes walked them (``processes``: None for "auto")."""
    parallel = (
        (processes is None or processes > 1)
        and connection.vendor == "postgresql"
        and not stop_at_first
        and not connection.in_atomic_block  # a child needs committed rows and its own connection
        and not multiprocessing.current_process().daemon  # a daemon (a pool's worker) may not fork
    )
    cuts: list[str] = []
    if parallel:
        # Read once, for the choice and the split, outside the snapshot: any split will do.
        sizes = _head_sizes()
        if processes is None:
            processes = _automatic_processes(sizes)
        cuts = _split_points(processes, sizes)  # none for one process
    if not cuts:
        with _one_snapshot():
            return _stored_heads(), _walk(promises, stop_at_first=stop_at_first), 1
    bounds = list(zip([None, *cuts], [*cuts, None], strict=True))
    context = multiprocessing.get_context("fork")
    # The children are forked with no connection open (none may be shared across a fork); the
    # parent then opens the snapshot and hands its id to each child, which reads in it.
    connections.close_all()
    children = []
    for low, high in bounds[1:]:
        snapshot_in, snapshot_out = context.Pipe(duplex=False)
        results_in, results_out = context.Pipe(duplex=False)
        child = context.Process(target=_walk_in_child, args=(promises, low, high, snapshot_in, results_out))
        child.start()
        snapshot_in.close()
        results_out.close()
        children.append((child, snapshot_out, results_in))
    try:
        with _one_snapshot():
            heads = _stored_heads()
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_catalog.pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
            for _child, snapshot_out, _results in children:
                snapshot_out.send(snapshot)
            walk = _walk(promises, *bounds[0])
            # The exported snapshot lives as long as this transaction: held until every child is done.
            parts: list[_Walk] = [results_in.recv() for _child, _snapshot, results_in in children]
    finally:
        for child, snapshot_out, results_in in children:
            snapshot_out.close()  # a child still waiting for a snapshot stops
            results_in.close()
            child.join()
    for part in parts:
        walk.events += part.events
        walk.breaks += part.breaks
        walk.last.update(part.last)
    return heads, walk, len(bounds)


def verify_chains(
    *, stop_at_first: bool = False, checkpointed: Promises | None = None, processes: int | None = None
) -> Report:
    """Walk every stream in seq order; report each break, the first one first.

    Caught: an altered field (the hash no longer matches), a deleted event (a gap in seq, or
    a prev_hash that is not its predecessor's hash), an inserted or reordered event (the same),
    and a truncated tail (the stream head records a later event than the last one found).
    With ``checkpointed`` (from the witness), also what someone with database rights could
    hide from the chains alone: a tail cut together with its head row, and a stream (or the
    whole table) replaced by a consistent fake chain — back to the last checkpoint.

    ``processes`` (default ``settings.AUDIT_VERIFY_PROCESSES``; None is "auto",
    ``_automatic_processes``): on PostgreSQL, split the streams into that many ranges, each walked
    by its own forked process over its own connection; not inside a transaction (the children
    could not see its rows), nor with ``stop_at_first``. The report is the same either way, but
    for ``Report.processes``.

    The heads and every event are read in one snapshot (``_one_snapshot``; the children import
    the parent's), so events appended while it runs are neither verified nor taken for breaks.
    """
    promises = dict(checkpointed or {})
    wanted = settings.AUDIT_VERIFY_PROCESSES if processes is None else processes
    stored_heads, walk, used = _walk_all(promises, stop_at_first, None if wanted is None else max(1, wanted))
    report = Report(events=walk.events, streams=len(walk.last), breaks=walk.breaks, processes=used)
    if stop_at_first and walk.breaks:
        return report
    for stream, (last_seq, last_hash) in walk.last.items():
        report.heads[stream] = (last_seq, last_hash)
        head_seq = stored_heads.pop(stream, None)
        signed = promises.pop(stream, None)
        if signed and last_seq < signed[0]:
            report.breaks.append(
                Break(
                    stream,
                    last_seq + 1,
                    f"events {last_seq + 1}–{signed[0]} were signed in checkpoint {signed[2]} "
                    "and are missing",
                )
            )
        elif head_seq is None:
            report.breaks.append(Break(stream, last_seq, "the stream has no recorded head"))
        elif head_seq > last_seq:
            report.breaks.append(
                Break(stream, last_seq + 1, f"events {last_seq + 1}–{head_seq} are missing from the end")
            )
        elif head_seq < last_seq:
            report.breaks.append(Break(stream, head_seq + 1, "events were appended behind the recorded head"))
    for stream, head_seq in stored_heads.items():
        if head_seq > 0 and stream not in promises:
            report.breaks.append(Break(stream, 1, f"all {head_seq} events of the stream are missing"))
    for stream, (seq, _digest, number) in promises.items():
        report.breaks.append(Break(stream, 1, f"all {seq} events signed in checkpoint {number} are missing"))
    report.breaks.sort(key=lambda b: (b.stream, b.seq))
    return report

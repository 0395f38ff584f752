"""Re-derive every chain and compare it with what is stored (``manage.py verify_audit``).

Built for speed, since it reads every event, and for the same trust as ever: the database only
returns the columns it stores (and spells each time as the canonical encoding spells it); every
event's bytes are built here by ``canonical``'s own spellings and hashed here by ``hashlib``, an
independent check of the hash the database computed when the event was appended.

* On PostgreSQL the events come in chunks of ``_CHUNK`` (in (stream, seq) order, one snapshot:
  a REPEATABLE READ transaction), each chunk one row holding one text per column, the column's
  values joined by ``_SEP``, so that a million events cost a few hundred C-level splits instead of
  a million rows turned into Python tuples. The next chunk is asked for (pipelined) before this one
  is checked, so the server and this process work at the same time. A value that holds ``_SEP``
  itself (no canonical value does, but a name could) is noticed by the count of the split, and
  that chunk is read again as ordinary rows.
* A chunk's events are spelt in bulk (one join of all their pieces, then one split) and checked
  column-wise: all hashes at once, each prev_hash against its predecessor's hash, each seq against
  its predecessor's seq, the signed heads by index. A chunk where anything does not hold is walked
  again event by event with ``canonical.encode_event_json``, the reference spelling, which finds
  and names the first broken event: the fast path only ever says "this chunk is intact".
* On SQLite the same chunks are filled from the ORM (the portable path).

With ``AUDIT_VERIFY_PROCESSES`` > 1 (or ``verify_audit --processes``) the streams are split into
ranges verified by that many processes.
"""

import hashlib
import multiprocessing
import select
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from itertools import compress
from json.encoder import encode_basestring
from operator import methodcaller, ne
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction

from workflow.models import AuditEvent, AuditStreamHead

from .canonical import GENESIS_HASH, encode_event_json, format_time, json_string_or_null

_BATCH = 20_000  # rows per ORM fetch on SQLite
_CHUNK = 5_000  # events per chunk
_SEP = "\x1f"  # between the values of one column in a chunk
_END = "\x1e"  # after each event's text, when a chunk's texts are spelt in one piece
_SPELLINGS = 50_000  # names whose JSON spelling a walk remembers, at most


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


# stream -> (seq, hash, checkpoint number): each stream's head as the signed checkpoints recorded it
Promises = Mapping[str, tuple[int, str, int]]
_COLUMNS = "stream, seq, {time}, actor, actor_role, action, object_ref, data_json, prev_hash, hash"
_PG_TIME = """pg_catalog.to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


@dataclass
class _Chunk:
    """Consecutive events in (stream, seq) order, column by column (``len`` is the events)."""

    streams: list[str]
    seqs: list[int]
    times: list[str]  # as the canonical encoding spells them
    actors: list[str]
    roles: list[str]
    actions: list[str]
    objects: list[str]
    datas: list[str]
    prevs: list[str]
    hashes: list[str]

    def __len__(self) -> int:
        return len(self.streams)

    @classmethod
    def of_rows(cls, rows: list[tuple[Any, ...]]) -> "_Chunk":
        """From rows of ``_COLUMNS`` (the time already spelt)."""
        columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(10)]
        return cls(*columns)

    def rows(self) -> Iterator[tuple[str, int, str, str, str, str, str, str, str, str]]:
        return zip(
            self.streams,
            self.seqs,
            self.times,
            self.actors,
            self.roles,
            self.actions,
            self.objects,
            self.datas,
            self.prevs,
            self.hashes,
            strict=True,
        )


def _conditions(low: str | None, high: str | None, after: tuple[str, int] | None) -> tuple[str, list[str]]:
    """The WHERE of one chunk's query (streams in [low, high), events after ``after``), its
    parameters as text; built-in operators named in pg_catalog, so that no operator a database
    user created can choose which rows the verifier is shown."""
    where, params = [], []
    if after is not None:
        where.append("(stream, seq) OPERATOR(pg_catalog.>) (%s, %s::pg_catalog.int8)")
        params += [after[0], str(after[1])]
    if low is not None:
        where.append("stream OPERATOR(pg_catalog.>=) %s")
        params.append(low)
    if high is not None:
        where.append("stream OPERATOR(pg_catalog.<) %s")
        params.append(high)
    return (f" WHERE {' AND '.join(where)}" if where else ""), params


def _row_query(condition: str) -> str:
    # The table name comes from the model and the bounds are parameters: nothing from input.
    return (
        f"SELECT stream, seq, {_PG_TIME} AS spelt_at, actor, actor_role, action, object_ref, data_json,"  # noqa: S608
        f" prev_hash, hash FROM {AuditEvent._meta.db_table}{condition} ORDER BY stream, seq LIMIT {_CHUNK}"
    )


def _chunk_query(condition: str) -> str:
    """One row for the next ``_CHUNK`` events: their count, then each column's values in
    (stream, seq) order joined by ``_SEP`` (the aggregate reads the ordered, limited rows as the
    subquery yields them; any other order could only make the checks fail, never pass)."""
    columns = ["stream", "seq::pg_catalog.text", "spelt_at", "actor", "actor_role", "action"]
    columns += ["object_ref", "data_json", "prev_hash", "hash"]
    joined = ", ".join(f"pg_catalog.string_agg({column}, E'\\x1f')" for column in columns)
    sql = f"SELECT pg_catalog.count(*), {joined} FROM ({_row_query(condition)}) AS chunk"  # noqa: S608
    number = iter(range(1, 100))
    while "%s" in sql:  # libpq's own placeholders: this query is sent without psycopg's help
        sql = sql.replace("%s", f"${next(number)}", 1)
    return sql


def _pg_chunks(low: str | None, high: str | None) -> Generator[_Chunk, None, None]:
    """The events in chunks, each asked for before the previous one is handed on, so that the
    server builds chunk n+1 while chunk n is checked. Stopping early leaves at most one chunk's
    query to finish (it is read and dropped): the rest of the trail is never asked for."""
    from psycopg import pq  # only ever reached on PostgreSQL

    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # starts the transaction, if one is due, before the raw queries
    raw = connection.connection
    assert raw is not None
    pgconn, encoding = raw.pgconn, raw.info.encoding

    def send(after: tuple[str, int] | None) -> None:
        condition, params = _conditions(low, high, after)
        pgconn.send_query_params(_chunk_query(condition).encode(), [p.encode(encoding) for p in params])
        while pgconn.flush():  # the query must reach the server now, not with the next read
            select.select([], [pgconn.socket], [])

    def receive() -> list[str | None]:
        result, values = pgconn.get_result(), []
        while result is not None:
            if result.status != pq.ExecStatus.TUPLES_OK:
                message = result.error_message.decode(encoding, "replace")
                while pgconn.get_result() is not None:
                    pass
                raise DatabaseError(message)
            values = [
                None if v is None else bytes(v).decode(encoding)
                for v in (result.get_value(0, i) for i in range(result.nfields))
            ]
            result = pgconn.get_result()
        return values

    after: tuple[str, int] | None = None
    send(after)
    pending = True
    try:
        while pending:
            values = receive()
            pending = False
            count = int(values[0] or 0)
            if not count:
                return
            columns = [(value or "").split(_SEP) for value in values[1:]]
            if all(len(column) == count for column in columns):
                chunk = _Chunk(columns[0], list(map(int, columns[1])), *columns[2:])
            else:  # a value holds _SEP: the same events (one snapshot) as ordinary rows
                condition, params = _conditions(low, high, after)
                with connection.cursor() as cursor:
                    cursor.execute(_row_query(condition), params)
                    chunk = _Chunk.of_rows(cursor.fetchall())
            if count == _CHUNK:
                after = (chunk.streams[-1], chunk.seqs[-1])
                send(after)
                pending = True
            yield chunk
    finally:
        if pending:
            receive()


def _portable_chunks(low: str | None, high: str | None) -> Generator[_Chunk, None, None]:
    query = AuditEvent.objects.order_by("stream", "seq")
    if low is not None:
        query = query.filter(stream__gte=low)
    if high is not None:
        query = query.filter(stream__lt=high)
    columns = [c.strip() for c in _COLUMNS.format(time="occurred_at").split(",")]
    rows: list[tuple[Any, ...]] = []
    for row in query.values_list(*columns).iterator(chunk_size=_BATCH):
        rows.append((row[0], row[1], format_time(row[2]), *row[3:]))
        if len(rows) == _CHUNK:
            yield _Chunk.of_rows(rows)
            rows = []
    if rows:
        yield _Chunk.of_rows(rows)


def _rows(low: str | None, high: str | None) -> Generator[_Chunk, None, None]:
    """Chunks of events in (stream, seq) order, streams in [low, high)."""
    if connection.vendor == "postgresql":
        return _pg_chunks(low, high)
    return _portable_chunks(low, high)


class _Spellings(dict[str, str]):
    """Names and their JSON spellings, each spelt once (``canonical``'s own functions)."""

    def __init__(self, spell: Callable[[str], str]) -> None:
        super().__init__()
        self.spell = spell

    def __missing__(self, name: str) -> str:
        spelt = self[name] = self.spell(name)
        return spelt


# The event's JCS text around its nine values (``canonical.encode_event_json``'s layout, a test
# holds them equal), the last piece ending the event for the split.
_PIECES = (
    '{"action":',
    ',"actor":',
    ',"data":',
    ',"object":',
    ',"occurred_at":"',
    '","prev_hash":"',
    '","role":',
    ',"seq":',
    ',"stream":',
    "}" + _END,
)
_STRIDE = 2 * len(_PIECES) - 1


def _spelt(chunk: _Chunk, required: _Spellings, optional: _Spellings) -> list[bytes] | None:
    """Every event's canonical bytes, built in one join and one split; None when a stored value
    holds ``_END`` (no canonical value does), where the event-by-event walk takes over."""
    n = len(chunk)
    values: list[Iterator[str] | list[str]] = [
        map(required.__getitem__, chunk.actions),
        map(optional.__getitem__, chunk.actors),
        chunk.datas,
        map(optional.__getitem__, chunk.objects),
        chunk.times,
        chunk.prevs,
        map(optional.__getitem__, chunk.roles),
        map(str, chunk.seqs),
        map(required.__getitem__, chunk.streams),
    ]
    pieces: list[str] = [""] * (_STRIDE * n)
    for k, piece in enumerate(_PIECES):
        pieces[2 * k :: _STRIDE] = [piece] * n
    for k, column in enumerate(values):
        pieces[2 * k + 1 :: _STRIDE] = list(column)
    texts = "".join(pieces).encode().split(_END.encode())
    if len(texts) != n + 1:
        return None
    texts.pop()  # after the last event's end
    return texts


@dataclass
class _Walk:
    events: int = 0
    breaks: list[Break] = field(default_factory=list)
    last: dict[str, tuple[int, str]] = field(default_factory=dict)  # per stream: last seq and hash seen
    # Where the walk stands: the stream it is in, what its next event must carry, whether the
    # stream already broke (its rest cannot be trusted), and the stream's signed head, if any.
    current: str | None = None
    expected_seq: int = 1
    expected_prev: str = GENESIS_HASH
    broken: bool = False
    promise: tuple[int, str, int] | None = None


_hexdigest = methodcaller("hexdigest")
_plus_one = (1).__add__


def _chunk_intact(walk: _Walk, chunk: _Chunk, texts: list[bytes] | None, promises: Promises) -> bool:
    """Column-wise, whether every event of the chunk holds (then the walk moves past it); False
    as soon as one check does not, leaving the walk where it was."""
    if walk.broken or texts is None:
        return False
    streams, seqs, prevs, hashes = chunk.streams, chunk.seqs, chunk.prevs, chunk.hashes
    if list(map(_hexdigest, map(hashlib.sha256, texts))) != hashes:
        return False
    n = len(chunk)
    starts = list(compress(range(n), map(ne, streams, [walk.current, *streams[:-1]])))
    expected_prev = [walk.expected_prev, *hashes[:-1]]
    expected_seq = [walk.expected_seq, *map(_plus_one, seqs[:-1])]
    for i in starts:  # a stream's first event
        expected_prev[i], expected_seq[i] = GENESIS_HASH, 1
    if expected_prev != prevs or expected_seq != seqs:
        return False
    # Each stream's events in the chunk: [first, end); the first may go on with the walk's stream.
    runs = [
        (first, end, streams[first], promises.get(streams[first]))
        for first, end in zip(starts, [*starts[1:], n], strict=True)
    ]
    if not starts or starts[0]:
        runs.insert(0, (0, starts[0] if starts else n, streams[0], walk.promise))
    for first, end, _stream, promise in runs:
        signed = promise is not None and seqs[first] <= promise[0] <= seqs[end - 1]
        if signed and hashes[first + promise[0] - seqs[first]] != promise[1]:  # type: ignore[index]
            return False
    for _first, end, stream, _promise in runs:
        walk.last[stream] = (seqs[end - 1], hashes[end - 1])
    walk.current, walk.promise = streams[-1], runs[-1][3]
    walk.expected_seq, walk.expected_prev = seqs[-1] + 1, hashes[-1]
    return True


def _walk_events(walk: _Walk, chunk: _Chunk, promises: Promises, stop_at_first: bool) -> bool:
    """Event by event with the reference spelling, naming each break (the first one first);
    True when told to stop at the first."""
    last = walk.last
    for stream, seq, when, actor, role, action, obj, data_json, prev_hash, digest in chunk.rows():
        if stream != walk.current:
            if walk.current is not None and not walk.broken:
                last[walk.current] = (walk.expected_seq - 1, walk.expected_prev)
            walk.current, walk.promise = stream, promises.get(stream)
            walk.expected_seq, walk.expected_prev, walk.broken = 1, GENESIS_HASH, False
        if walk.broken:
            last[stream] = (seq, digest)
            continue
        expected_seq, promise, problem = walk.expected_seq, walk.promise, None
        if seq != expected_seq:
            problem = f"expected seq {expected_seq}, found {seq} (an event is missing or was moved)"
            seq = min(seq, expected_seq)  # name the first seq that is not where it should be
        elif prev_hash != walk.expected_prev:
            problem = "prev_hash does not match the previous event's hash (inserted, removed or reordered)"
        elif (
            hashlib.sha256(
                encode_event_json(
                    encode_basestring(stream),
                    seq,
                    when,
                    json_string_or_null(actor),
                    json_string_or_null(role),
                    encode_basestring(action),
                    json_string_or_null(obj),
                    data_json,
                    prev_hash,
                )
            ).hexdigest()
            != digest
        ):
            problem = "the event's content does not match its hash (altered)"
        elif promise is not None and seq == promise[0] and digest != promise[1]:
            problem = (
                f"the stream up to this event differs from the one signed in checkpoint {promise[2]} "
                "(rewritten after it was signed)"
            )
        if problem:
            walk.breaks.append(Break(stream, seq, problem))
            walk.broken = True  # the rest of this stream cannot be trusted; go on to the next
            last[stream] = (seq, digest)
            if stop_at_first:
                return True
            continue
        walk.expected_seq, walk.expected_prev = seq + 1, digest
    return False


def _walk_chunks(chunks: Generator[_Chunk, None, None], promises: Promises, stop_at_first: bool) -> _Walk:
    walk = _Walk()
    # Actors, roles, objects ("" is null), actions and streams repeat from event to event: each
    # is spelt once (at most _SPELLINGS of them remembered).
    required, optional = _Spellings(encode_basestring), _Spellings(json_string_or_null)
    with closing(chunks):
        for chunk in chunks:
            walk.events += len(chunk)
            for spellings in (required, optional):
                if len(spellings) >= _SPELLINGS:
                    spellings.clear()
            if _chunk_intact(walk, chunk, _spelt(chunk, required, optional), promises):
                continue
            if _walk_events(walk, chunk, promises, stop_at_first):
                return walk
    if walk.current is not None and not walk.broken:
        walk.last[walk.current] = (walk.expected_seq - 1, walk.expected_prev)
    return walk


def _walk(
    promises: Promises, low: str | None = None, high: str | None = None, stop_at_first: bool = False
) -> _Walk:
    """Check every event against its predecessor and its own hash (and a signed head, if any).
    On PostgreSQL, outside a transaction, in one REPEATABLE READ READ ONLY transaction: every
    chunk from one snapshot."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return _walk_chunks(_rows(low, high), promises, stop_at_first)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _walk_chunks(_rows(low, high), promises, stop_at_first)


def _walk_in_child(promises: Promises, low: str | None, high: str | None, pipe: Any) -> None:
    connections.close_all()  # the parent's connection must not be shared across the fork
    try:
        pipe.send(_walk(promises, low, high))
    finally:
        connections.close_all()
        pipe.close()


def _split_points(parts: int) -> list[str]:
    """Streams that cut the trail into ``parts`` ranges of roughly equal events (by the stream
    heads' sequence numbers); fewer when there are fewer streams."""
    heads = list(AuditStreamHead.objects.order_by("stream").values_list("stream", "seq"))
    total, before = sum(seq for _s, seq in heads), 0
    cuts: list[str] = []
    for stream, seq in heads:  # a cut is the first stream of the next range
        if before and len(cuts) < parts - 1 and before * parts >= total * (len(cuts) + 1):
            cuts.append(stream)
        before += seq
    return cuts


def _walk_all(promises: Promises, stop_at_first: bool, processes: int) -> _Walk:
    parallel = (
        processes > 1
        and connection.vendor == "postgresql"
        and not stop_at_first
        and not connection.in_atomic_block  # a child needs committed rows and its own connection
        and not multiprocessing.current_process().daemon  # a daemon (a pool's worker) may not fork
    )
    cuts = _split_points(processes) if parallel else []
    if not cuts:
        return _walk(promises, stop_at_first=stop_at_first)
    bounds = list(zip([None, *cuts], [*cuts, None], strict=True))
    context = multiprocessing.get_context("fork")
    connections.close_all()  # no connection may be shared across the fork
    children = []
    for low, high in bounds[1:]:
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(target=_walk_in_child, args=(promises, low, high, sender))
        child.start()
        sender.close()
        children.append((child, receiver))
    walk = _walk(promises, *bounds[0])
    for child, receiver in children:
        part: _Walk = receiver.recv()
        child.join()
        walk.events += part.events
        walk.breaks += part.breaks
        walk.last.update(part.last)
    return walk


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

    ``processes`` (default ``settings.AUDIT_VERIFY_PROCESSES``, 1): on PostgreSQL, split the
    streams into that many ranges, each walked by its own forked process over its own
    connection; not inside a transaction (the children could not see its rows), nor with
    ``stop_at_first``. The report is the same either way.
    """
    promises = dict(checkpointed or {})
    stored_heads = dict(AuditStreamHead.objects.values_list("stream", "seq"))
    wanted = settings.AUDIT_VERIFY_PROCESSES if processes is None else processes
    walk = _walk_all(promises, stop_at_first, max(1, wanted))
    report = Report(events=walk.events, streams=len(walk.last), breaks=walk.breaks)
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

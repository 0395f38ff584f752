"""Signed checkpoints over every stream head (``manage.py checkpoint_audit``, the beat job).

All events form one append-only Merkle log in checkpoint order: checkpoint k appends, stream by
stream in the order its ``ranges`` list them, the events each stream gained since checkpoint
k-1. A leaf is the event's 32-byte hash (which covers stream, seq and content). The signed
statement names the tree size and root (so later proofs can show inclusion and consistency),
the per-stream ranges (so that a verifier knows each stream's head at that checkpoint), and a
root over all heads.

The row is committed first, then published to the witness by ``publish_pending`` (run by the
command and by every beat job), which also writes whatever an interrupted run left unpublished.
"""

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence
from json.encoder import encode_basestring
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from workflow.models import AuditEvent, AuditStreamHead, Checkpoint

from .canonical import canonical_data, format_time
from .merkle import MerkleTree, extend_frontier, leaf_hash, root_from_frontier
from .signing import sign_statement
from .witness import SignedCheckpoint, WitnessConflict, read_checkpoints, witness_name, write_checkpoint

logger = logging.getLogger(__name__)

STATEMENT_TYPE = "requests-portal/audit-checkpoint/v1"
_LOCK_KEY = 0x61756469  # "audi": one checkpoint at a time (PostgreSQL advisory lock)
_FULL_SCAN_ABOVE = 2000  # changed streams past which one ordered scan beats per-stream queries


def canonical_json(value: Any) -> str:
    """JCS for float-free values (see canonical.py)."""
    return canonical_data(value)


def head_leaf(stream: str, seq: int, digest: str) -> bytes:
    """JCS of {"hash", "seq", "stream"}, spelt directly: a checkpoint hashes one per stream."""
    return f'{{"hash":"{digest}","seq":{seq},"stream":{encode_basestring(stream)}}}'.encode()


def heads_root(heads: Iterable[tuple[str, int, str]]) -> str:
    """Merkle root over every stream head, streams in code-point order."""
    leaves = [leaf_hash(head_leaf(*head)) for head in sorted(heads)]
    return MerkleTree(leaves).root().hex()


Range = tuple[str, int, int, str]  # stream, first seq, last seq, hash of the last event


def _event_hashes(ranges: Sequence[Range]) -> dict[str, list[bytes]]:
    """The hashes of the events in ``ranges``, per stream, in seq order."""
    wanted = {stream: (first, last) for stream, first, last, _h in ranges}
    found: dict[str, list[bytes]] = {stream: [] for stream in wanted}
    rows: Iterable[tuple[str, int, str]]
    if connection.vendor == "postgresql":
        # One join against the ranges as arrays: no per-stream query, no thousand-branch OR.
        rows = _pg_range_rows(ranges)
    elif len(ranges) > _FULL_SCAN_ABOVE:
        rows = (
            AuditEvent.objects.order_by("stream", "seq").values_list("stream", "seq", "hash").iterator(50_000)
        )
    else:
        condition = Q()
        for stream, first, last, _h in ranges:
            condition |= Q(stream=stream, seq__gte=first, seq__lte=last)
        rows = (
            AuditEvent.objects.filter(condition)
            .order_by("stream", "seq")
            .values_list("stream", "seq", "hash")
        )
    for stream, seq, digest in rows:
        bounds = wanted.get(stream)
        if bounds and bounds[0] <= seq <= bounds[1]:
            found[stream].append(bytes.fromhex(digest))
    return found


def _pg_range_rows(ranges: Sequence[Range]) -> Iterator[tuple[str, int, str]]:
    sql = (
        f"SELECT e.stream, e.seq, e.hash FROM {AuditEvent._meta.db_table} e "  # noqa: S608 (the model's table)
        "JOIN unnest(%s::text[], %s::bigint[], %s::bigint[]) AS r(stream, first_seq, last_seq) "
        "ON e.stream = r.stream AND e.seq BETWEEN r.first_seq AND r.last_seq ORDER BY e.stream, e.seq"
    )
    params: list[Any] = [[r[0] for r in ranges], [r[1] for r in ranges], [r[2] for r in ranges]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(50_000):
            yield from batch


def _move_checkpointed(ranges: Sequence[Range]) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {AuditStreamHead._meta.db_table} h SET checkpointed_seq = r.last_seq "  # noqa: S608
                "FROM unnest(%s::text[], %s::bigint[]) AS r(stream, last_seq) WHERE h.stream = r.stream",
                [[r[0] for r in ranges], [r[2] for r in ranges]],
            )
        return
    moved = [AuditStreamHead(stream=s, checkpointed_seq=last) for s, _f, last, _h in ranges]
    AuditStreamHead.objects.bulk_update(moved, ["checkpointed_seq"], batch_size=500)


class CheckpointGap(Exception):
    """The events a head promises are not all there: the trail is broken, so nothing is signed."""


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def make_checkpoint(*, now: dt.datetime | None = None) -> Checkpoint | None:
    """Sign a checkpoint over every stream head; None when nothing happened since the last one."""
    with transaction.atomic():
        _lock()
        previous = Checkpoint.objects.order_by("-number").first()
        heads = list(AuditStreamHead.objects.values_list("stream", "seq", "hash", "checkpointed_seq"))
        heads.sort()
        ranges: list[Range] = [(s, done + 1, seq, h) for s, seq, h, done in heads if seq > done]
        if previous is not None and not ranges:
            return None
        hashes = _event_hashes(ranges)
        leaves: list[bytes] = []
        for stream, first, last, last_hash in ranges:
            chunk = hashes[stream]
            if len(chunk) != last - first + 1 or chunk[-1].hex() != last_hash:
                raise CheckpointGap(
                    f"stream {stream!r}: events {first}–{last} are not all present; run verify_audit"
                )
            leaves.extend(leaf_hash(digest) for digest in chunk)
        old_frontier = [bytes.fromhex(x) for x in previous.frontier] if previous else []
        frontier, size = extend_frontier(old_frontier, previous.tree_size if previous else 0, leaves)
        moment = now or timezone.now()
        number = previous.number + 1 if previous else 1
        body: dict[str, Any] = {
            "type": STATEMENT_TYPE,
            "origin": settings.STORE_NAME,
            "number": number,
            "issued_at": format_time(moment),
            "tree_size": size,
            "root_hash": root_from_frontier(frontier).hex(),
            "heads_root": heads_root((s, seq, h) for s, seq, h, _d in heads if seq > 0),
            "streams": sum(1 for head in heads if head[1] > 0),
            "previous": (
                {"number": previous.number, "tree_size": previous.tree_size, "root_hash": previous.root_hash}
                if previous
                else None
            ),
            "ranges": [list(r) for r in ranges],
        }
        statement = canonical_json(body)
        signature, certificate = sign_statement(statement.encode())
        checkpoint = Checkpoint.objects.create(
            number=number,
            issued_at=moment,
            tree_size=size,
            root_hash=body["root_hash"],
            heads_root=body["heads_root"],
            streams=body["streams"],
            ranges=body["ranges"],
            frontier=[node.hex() for node in frontier],
            statement=statement,
            signature=signature,
            certificate=certificate,
            witness_name=witness_name(number),
        )
        _move_checkpointed(ranges)
    return checkpoint


def signed_copy(checkpoint: Checkpoint) -> SignedCheckpoint:
    return SignedCheckpoint(checkpoint.statement, checkpoint.signature, checkpoint.certificate)


def publish_pending() -> int:
    """Write to the witness every checkpoint it does not hold yet. Idempotent."""
    held = {name for name, _signed in read_checkpoints()}
    published = 0
    for checkpoint in Checkpoint.objects.order_by("number"):
        if checkpoint.witness_name in held:
            continue
        try:
            write_checkpoint(checkpoint.number, signed_copy(checkpoint))
            published += 1
        except WitnessConflict:
            logger.warning("witness already holds checkpoint %s", checkpoint.number)
    return published

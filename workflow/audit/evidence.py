"""Export an evidence bundle for an order or a time range (``manage.py export_evidence``).

A fresh checkpoint is made first, so that every exported event is covered by a signed one; the
bundle's format and its verification are in ``bundle.py``.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow.errors import InvalidInput
from workflow.models import AuditEvent, Checkpoint

from .bundle import FORMAT, event_document, line, sign_lines
from .canonical import format_time
from .checkpoint import make_checkpoint, publish_pending
from .merkle import MerkleTree, leaf_hash
from .signing import sign_statement, signer_certificate_pem
from .witness import SignedCheckpoint

ORDER_STREAM_KINDS = ("disclosureorder", "preservationorder")


def order_streams(reference: str) -> list[str]:
    streams = [f"{kind}:{reference}" for kind in ORDER_STREAM_KINDS]
    found = sorted(set(AuditEvent.objects.filter(stream__in=streams).values_list("stream", flat=True)))
    if not found:
        raise InvalidInput(
            _("No audit events are recorded for an order with reference %(ref)s.") % {"ref": reference}
        )
    return found


def day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """From the start of ``first`` to the end of ``last``, in the store's time zone."""
    if last < first:
        raise InvalidInput(
            _("The range ends (%(to)s) before it starts (%(from)s).") % {"to": last, "from": first}
        )
    zone = timezone.get_default_timezone()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def log_leaves(checkpoints: Sequence[Checkpoint], streams: Iterable[str] | None = None) -> list[bytes]:
    """Every leaf hash of the log up to the last of ``checkpoints``, in checkpoint order."""
    hashes: dict[str, list[str]] = {}
    for stream, digest in (
        AuditEvent.objects.order_by("stream", "seq").values_list("stream", "hash").iterator(50_000)
    ):
        hashes.setdefault(stream, []).append(digest)
    leaves: list[bytes] = []
    for checkpoint in checkpoints:
        for stream, first, last, _h in checkpoint.ranges:
            chunk = hashes.get(stream, [])[first - 1 : last]
            leaves.extend(leaf_hash(bytes.fromhex(d)) for d in chunk)
    return leaves


def export_bundle(events: QuerySet[AuditEvent], scope: dict[str, Any]) -> bytes:
    make_checkpoint()
    publish_pending()
    checkpoints = list(Checkpoint.objects.order_by("number"))
    anchor = checkpoints[-1]
    tree = MerkleTree(log_leaves(checkpoints))
    if tree.size != anchor.tree_size:
        raise InvalidInput(_("The audit trail does not match its checkpoints; run verify_audit."))
    wanted = {(e.stream, e.seq) for e in events.only("stream", "seq")}
    positions: dict[tuple[str, int], tuple[int, Checkpoint]] = {}
    index = 0
    for checkpoint in checkpoints:
        for stream, first, last, _h in checkpoint.ranges:
            for seq in range(first, last + 1):
                if (stream, seq) in wanted:
                    positions[(stream, seq)] = (index, checkpoint)
                index += 1
    certificate = signer_certificate_pem()
    lines = [
        line(
            {
                "type": "header",
                "format": FORMAT,
                "store": settings.STORE_NAME,
                "scope": scope,
                "created_at": format_time(timezone.now()),
                "events": len(wanted),
                "certificate": certificate,
            }
        )
    ]
    involved: set[int] = {anchor.number}
    for event in events.order_by("stream", "seq"):
        leaf_index, covering = positions[(event.stream, event.seq)]
        involved.add(covering.number)
        document = event_document(
            stream=event.stream,
            seq=event.seq,
            occurred_at=format_time(event.occurred_at),
            actor=event.actor,
            actor_role=event.actor_role,
            action=event.action,
            object_ref=event.object_ref,
            data_json=event.data_json,
            prev_hash=event.prev_hash,
            hash=event.hash,
        )
        proof = tree.inclusion_proof(leaf_index, anchor.tree_size)
        lines.append(
            line(
                {
                    "type": "event",
                    "event": document,
                    "leaf_index": leaf_index,
                    "checkpoint": covering.number,
                    "inclusion": [node.hex() for node in proof],
                }
            )
        )
    by_number = {c.number: c for c in checkpoints}
    for number in sorted(involved):
        checkpoint = by_number[number]
        lines.append(
            line(
                {
                    "type": "checkpoint",
                    **SignedCheckpoint(
                        checkpoint.statement, checkpoint.signature, checkpoint.certificate
                    ).to_json(),
                }
            )
        )
    for number in sorted(involved - {anchor.number}):
        proof = tree.consistency_proof(by_number[number].tree_size, anchor.tree_size)
        lines.append(
            line(
                {
                    "type": "consistency",
                    "from": number,
                    "to": anchor.number,
                    "proof": [n.hex() for n in proof],
                }
            )
        )
    return sign_lines(lines, sign_statement)


def export_order(reference: str) -> bytes:
    streams = order_streams(reference)
    return export_bundle(
        AuditEvent.objects.filter(stream__in=streams), {"order": reference, "streams": streams}
    )


def export_range(first: dt.date, last: dt.date) -> bytes:
    start, end = day_bounds(first, last)
    events = AuditEvent.objects.filter(Q(occurred_at__gte=start) & Q(occurred_at__lt=end))
    return export_bundle(events, {"from": first.isoformat(), "to": last.isoformat()})

"""What the auditors' integrity panel shows: the last verification and the last checkpoint.

A verification run is itself audited (``audit.verified`` in the system stream, with its
counts and first break), so the panel reads recorded facts, not a cache.
"""

from dataclasses import dataclass
from typing import Any

from workflow.models import AuditEvent, Checkpoint

from .trail import SYSTEM_STREAM, record
from .verify import Report
from .witness import witness_storage
from .witness_verify import WitnessReport

VERIFIED = "audit.verified"


def record_verification(report: Report, witness: WitnessReport) -> AuditEvent:
    first = report.first_break
    latest = witness.latest or {}
    return record(
        VERIFIED,
        actor=None,
        stream=SYSTEM_STREAM,
        data={
            "intact": report.intact and not witness.problems,
            "events": report.events,
            "streams": report.streams,
            "breaks": len(report.breaks),
            "first_break": f"{first.stream}#{first.seq}" if first else None,
            "witness_problems": len(witness.problems),
            "checkpoint": latest.get("number"),
        },
    )


@dataclass
class IntegrityStatus:
    last_verification: AuditEvent | None
    verification: dict[str, Any]
    checkpoint: Checkpoint | None
    checkpoint_published: bool
    checkpoints: int


def integrity_status() -> IntegrityStatus:
    verification = AuditEvent.objects.filter(stream=SYSTEM_STREAM, action=VERIFIED).order_by("-seq").first()
    checkpoint = Checkpoint.objects.order_by("-number").first()
    published = bool(checkpoint and witness_storage().exists(checkpoint.witness_name))
    return IntegrityStatus(
        last_verification=verification,
        verification=verification.data if verification else {},
        checkpoint=checkpoint,
        checkpoint_published=published,
        checkpoints=Checkpoint.objects.count(),
    )

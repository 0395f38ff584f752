"""The checkpoint beat job (CELERY_BEAT_SCHEDULE['audit-checkpoint'])."""

from celery import shared_task

from .checkpoint import make_checkpoint, publish_pending


@shared_task(name="workflow.audit.tasks.make_checkpoint")
def make_checkpoint_task() -> int | None:
    """Idempotent: with nothing new it signs nothing, and it always publishes what is pending."""
    checkpoint = make_checkpoint()
    publish_pending()
    return checkpoint.number if checkpoint else None


@shared_task(name="workflow.audit.tasks.verify_trail")
def verify_trail_task() -> bool:
    """Verify the whole trail against the witness and audit the result (the integrity panel's source)."""
    from .integrity import record_verification
    from .verify import verify_chains
    from .witness_verify import read_witness

    witness = read_witness()
    report = verify_chains(checkpointed=witness.promises)
    record_verification(report, witness)
    return report.intact and not witness.problems

"""The checkpoint beat job (CELERY_BEAT_SCHEDULE['audit-checkpoint'])."""

from celery import shared_task

from .checkpoint import make_checkpoint, publish_pending


@shared_task(name="workflow.audit.tasks.make_checkpoint")
def make_checkpoint_task() -> int | None:
    """Idempotent: with nothing new it signs nothing, and it always publishes what is pending."""
    checkpoint = make_checkpoint()
    publish_pending()
    return checkpoint.number if checkpoint else None

"""Celery tasks keeping the dashboard's summaries fresh (thin: the rules live in workflow.stats)."""

from celery import shared_task


@shared_task
def refresh_state_dwell() -> int:
    """Idempotent: each run replaces the summary with the trail as it stands."""
    from workflow.stats import refresh_state_dwell as refresh

    return len(refresh())

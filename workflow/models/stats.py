"""Summaries the dashboard reads instead of scanning the audit trail on a page view."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StateDwell(models.Model):
    """Mean days disclosure orders spent in one state, over a trailing window of the audit trail.

    A summary, not a record: ``workflow.stats.refresh_state_dwell`` replaces the rows of a window
    (Celery beat, every ``PORTAL_CHART_REFRESH_MINUTES``), so that no page view reads the trail.
    """

    window_days = models.PositiveIntegerField()
    state = models.CharField(max_length=30)
    mean_days = models.FloatField()
    stays = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("time spent in a state")
        verbose_name_plural = _("time spent in each state")
        constraints = [models.UniqueConstraint(fields=["window_days", "state"], name="state_dwell_unique")]

    def __str__(self) -> str:
        return f"{self.state}: {self.mean_days:.1f} days ({self.window_days}-day window)"

"""The audit trail's tables (DESIGN §4). Rows are appended by ``workflow.audit.record`` only."""

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One event of one hash-chained stream.

    ``hash`` is SHA-256 over the canonical (RFC 8785) encoding of the event, which includes
    ``prev_hash``: altering, deleting, inserting or reordering any event breaks the chain.
    ``data_json`` is kept as the exact canonical text that was hashed (a JSON column would
    re-encode it). It holds references and hashes, never raw personal data.
    """

    stream = models.CharField(_("stream"), max_length=80)
    seq = models.PositiveBigIntegerField(_("sequence"))
    occurred_at = models.DateTimeField(_("time (UTC)"))
    actor = models.CharField(_("actor"), max_length=80, blank=True)
    actor_role = models.CharField(_("role"), max_length=30, blank=True)
    action = models.CharField(_("action"), max_length=80)
    object_ref = models.CharField(_("object"), max_length=120, blank=True)
    data_json = models.TextField(_("data"), default="{}")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["stream", "seq"]
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="audit_stream_seq_unique")]
        indexes = [
            models.Index(fields=["occurred_at"]),
            models.Index(fields=["action", "occurred_at"]),
            models.Index(fields=["actor", "occurred_at"]),
            models.Index(fields=["object_ref"]),
        ]
        permissions = [("verify_audit", "Can verify the audit trail and export evidence")]

    def __str__(self) -> str:
        return f"{self.stream}#{self.seq} {self.action}"

    @property
    def data(self) -> Any:
        import json

        return json.loads(self.data_json)


class AuditStreamHead(models.Model):
    """The last event of each stream: the row appends lock, and what a truncated tail is checked against."""

    stream = models.CharField(max_length=80, primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("audit stream head")

    def __str__(self) -> str:
        return f"{self.stream}@{self.seq}"

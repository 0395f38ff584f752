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
    # The last event's own prev_hash (empty before the first event, and on heads older than
    # migration 0008 until their next event): an append moves the head with one UPDATE that keeps
    # the hash it replaces here and returns it as the new event's link (workflow_audit_append).
    prev_hash = models.CharField(max_length=64, blank=True, default="", db_default="")
    updated_at = models.DateTimeField(auto_now=True)
    # How far the signed checkpoints reach: the next checkpoint takes events after this seq.
    checkpointed_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("audit stream head")

    def __str__(self) -> str:
        return f"{self.stream}@{self.seq}"


class Checkpoint(models.Model):
    """A signed statement over every stream head, also written outside the database.

    The events of all streams form one append-only Merkle log (RFC 6962), in checkpoint
    order: each checkpoint appends the events that arrived since the previous one, stream
    by stream (``ranges``). ``statement`` is the exact signed text; the witness copy, not
    this row, is what ``verify_audit`` trusts, since this row is as writable as the events.
    """

    number = models.PositiveIntegerField(_("number"), unique=True)
    issued_at = models.DateTimeField(_("issued at"))
    tree_size = models.PositiveBigIntegerField(_("events covered"))
    root_hash = models.CharField(_("Merkle root"), max_length=64)
    heads_root = models.CharField(_("root over stream heads"), max_length=64)
    streams = models.PositiveIntegerField(_("streams"))
    ranges = models.JSONField(default=list)  # [[stream, first_seq, last_seq, last_hash], …] in leaf order
    frontier = models.JSONField(
        default=list
    )  # the complete subtrees' roots: the next one costs only new events
    statement = models.TextField()
    signature = models.TextField()
    certificate = models.TextField()  # the signer's, as PEM: certificates are rotated, statements stay
    witness_name = models.CharField(max_length=200)

    class Meta:
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"checkpoint {self.number} ({self.tree_size} events)"

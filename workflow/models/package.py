"""The disclosure package: one per order and approved scope revision (DESIGN §3).

A row exists from the moment a worker claims the build; it is ``ready`` only once its sealed
file is stored and the order has moved to package_ready in the same transaction, so a
half-built package is never visible. The unique (order, scope_revision) pair is the
database-side claim: however many times the queue delivers the job, one approved scope gives
one package.
"""

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from .disclosure import _REFERENCE_ALPHABET, DisclosureOrder


def new_package_id() -> str:
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(12))
    return f"PKG-{chars[:4]}-{chars[4:8]}-{chars[8:]}"


class PackageState(models.TextChoices):
    BUILDING = "building", _("Building")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class PackageStage(models.TextChoices):
    QUEUED = "queued", _("Queued")
    EXTRACTING = "extracting", _("Extracting the scoped data")
    RENDERING = "rendering", _("Rendering the document")
    STORING = "storing", _("Encrypting and storing")
    DONE = "done", _("Done")


class Package(models.Model):
    order = models.ForeignKey(DisclosureOrder, on_delete=models.PROTECT, related_name="packages")
    scope_revision = models.PositiveIntegerField()
    package_id = models.CharField(
        _("package id"), max_length=24, unique=True, default=new_package_id, editable=False
    )
    state = models.CharField(
        _("state"), max_length=10, choices=PackageState.choices, default=PackageState.BUILDING
    )
    stage = models.CharField(
        _("stage"), max_length=12, choices=PackageStage.choices, default=PackageStage.QUEUED
    )
    percent = models.PositiveSmallIntegerField(_("progress (%)"), default=0)

    # The claim: who builds it now, refreshed as the build progresses (a lease, not a lock, so
    # that a killed worker's claim lapses and a redelivered job takes over).
    claimed_by = models.CharField(max_length=200, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)

    # The unsigned package as built (sealed at rest), and the signed one once released.
    file = models.CharField(_("stored file"), max_length=200, blank=True, editable=False)
    sha256 = models.CharField(_("SHA-256 of the built PDF"), max_length=64, blank=True, editable=False)
    size = models.PositiveBigIntegerField(default=0, editable=False)
    signed_file = models.CharField(max_length=200, blank=True, editable=False)
    signed_sha256 = models.CharField(
        _("SHA-256 of the signed PDF"), max_length=64, blank=True, editable=False
    )
    signed_at = models.DateTimeField(null=True, editable=False)
    manifest_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    row_count = models.PositiveBigIntegerField(default=0, editable=False)
    no_data = models.BooleanField(_("no data found"), default=False, editable=False)
    error = models.TextField(_("error"), blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, editable=False)

    class Meta:
        verbose_name = _("disclosure package")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "scope_revision"], name="one_package_per_scope_revision"
            ),
            models.CheckConstraint(
                condition=~models.Q(state="ready") | (~models.Q(file="") & ~models.Q(sha256="")),
                name="ready_package_has_its_file",
            ),
        ]

    def __str__(self) -> str:
        return self.package_id

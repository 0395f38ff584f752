from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from workflow.choices import AuthorityKind, InstrumentType


class Authority(models.Model):
    """A judicial or administrative authority whose orders the store may obey."""

    name_fa = models.CharField(_("name (Persian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=AuthorityKind.choices)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")
        ordering = ["name_en"]
        constraints = [
            models.UniqueConstraint(fields=["name_en", "jurisdiction"], name="authority_unique_name")
        ]

    def __str__(self) -> str:
        return self.display_name()

    def display_name(self, language: str | None = None) -> str:
        return self.name_fa if (language or get_language() or "fa").startswith("fa") else self.name_en

    def may_issue(self, instrument: str) -> bool:
        return self.instruments.filter(instrument=instrument).exists()


class AuthorityInstrument(models.Model):
    """An instrument type this authority is competent to issue."""

    authority = models.ForeignKey(Authority, on_delete=models.CASCADE, related_name="instruments")
    instrument = models.CharField(_("instrument"), max_length=30, choices=InstrumentType.choices)

    class Meta:
        verbose_name = _("instrument the authority may issue")
        constraints = [
            models.UniqueConstraint(fields=["authority", "instrument"], name="authority_instrument_unique")
        ]

    def __str__(self) -> str:
        return self.get_instrument_display()


class AuthorityContact(models.Model):
    """A contact channel found independently of any order (never taken from the order itself),
    used to confirm an order's authenticity out of band."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Telephone")
        EMAIL = "email", _("E-mail")
        ADDRESS = "address", _("Postal address")
        PORTAL = "portal", _("Official portal")

    authority = models.ForeignKey(Authority, on_delete=models.CASCADE, related_name="contacts")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    value = models.CharField(_("value"), max_length=300)
    source = models.CharField(
        _("where it was found"), max_length=300, help_text=_("e.g. the judiciary's official directory")
    )
    checked_on = models.DateField(_("last checked on"), null=True, blank=True)

    class Meta:
        verbose_name = _("independently sourced contact")

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.value}"

from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import models
from django.utils.module_loading import import_string

from .sms import SmsBackend


class Channel(models.TextChoices):
    EMAIL = "email", "e-mail"
    SMS = "sms", "SMS"


@dataclass(frozen=True)
class Message:
    channel: str
    to: str
    subject: str
    body: str


def sms_backend() -> SmsBackend:
    backend_class = import_string(settings.PORTAL_SMS_BACKEND)
    backend: SmsBackend = backend_class(**getattr(settings, "PORTAL_SMS_OPTIONS", {}))
    return backend


def send(message: Message) -> None:
    """Send ``message`` on its channel; raises when the backend fails (the task retries)."""
    if message.channel == Channel.EMAIL:
        EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
        ).send(fail_silently=False)
    elif message.channel == Channel.SMS:
        sms_backend().send(message.to, message.body)
    else:
        raise ValueError(f"unknown channel {message.channel!r}")

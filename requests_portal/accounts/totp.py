"""TOTP devices of staff users: the second factor of the staff sign-in (django-otp)."""

import time
from base64 import b32encode
from typing import Any

from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "authenticator"


def secret_of(device: TOTPDevice) -> str:
    """The base32 secret an authenticator app is given (what ``otpauth://`` URLs carry)."""
    return b32encode(device.bin_key).decode()


@transaction.atomic
def ensure_totp_device(user: Any) -> str:
    """Give ``user`` a confirmed TOTP device unless they have one; return its base32 secret.

    Idempotent, so that ``seed_demo`` can run again without changing anyone's authenticator.
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True)
    return secret_of(device)


def device_of(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def current_code(device: TOTPDevice, *, at: float | None = None) -> str:
    """The code the device's authenticator shows now (for the demo and for tests)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"

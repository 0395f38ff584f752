"""Staff sign-in (password, then TOTP), lockout, and the gate of every staff page."""

from typing import Any

from .decorators import StaffRequiredMixin, staff_required


def ensure_totp_device(user: Any) -> str:
    """See ``totp.ensure_totp_device`` (imported late: this package loads before the models)."""
    from .totp import ensure_totp_device as ensure

    return ensure(user)


__all__ = ["StaffRequiredMixin", "ensure_totp_device", "staff_required"]

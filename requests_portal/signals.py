"""Sign-in events go to the system stream of the audit trail.

Django's auth signals are the only hook for these, so this is one of the few receivers; it
records, it decides nothing. A failed sign-in records a keyed hash of the name typed, never
the name itself (it is sometimes a password typed in the wrong box).
"""

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver


def _client(request: Any) -> dict[str, str]:
    if request is None:
        return {}
    ip = request.META.get("REMOTE_ADDR", "")
    return {"ip_hmac": hmac.new(settings.SECRET_KEY.encode(), ip.encode(), hashlib.sha256).hexdigest()[:32]}


@receiver(user_logged_in)
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from workflow import audit

    audit.record("auth.login", actor=user, data=_client(request))


@receiver(user_logged_out)
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from workflow import audit

    if user is not None:
        audit.record("auth.logout", actor=user, data=_client(request))


@receiver(user_login_failed)
def audit_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    from workflow import audit

    typed = str(credentials.get("username", ""))
    digest = hmac.new(settings.SECRET_KEY.encode(), typed.encode(), hashlib.sha256).hexdigest()[:32]
    audit.record("auth.login_failed", actor=None, data={"username_hmac": digest, **_client(request)})

"""Deadlines of data-subject requests: the desk is reminded before a request falls due."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import audit
from workflow.models import OPEN_REQUEST_STATES, DataSubjectRequest

from .transitions import lock


def remind_due_requests(*, today: dt.date | None = None) -> list[str]:
    """Remind the desk of requests falling due soon (beat); one reminder per deadline."""
    from workflow.notify import Message, send

    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=settings.DSR_REMINDER_DAYS)
    due = DataSubjectRequest.objects.filter(
        state__in=OPEN_REQUEST_STATES, due_on__lte=horizon, reminded_on=None
    )
    reminded = []
    for dsr in due:
        with transaction.atomic():
            locked = lock(dsr)
            if locked.reminded_on is not None:
                continue
            locked.reminded_on = today
            locked.save(update_fields=["reminded_on", "updated_at"])
            audit.record(
                "dsr.reminder_sent", actor=None, obj=locked, data={"due_on": locked.due_on.isoformat()}
            )
        reminded.append(dsr.reference)
    if reminded:
        recipients = _desk_addresses()
        if recipients:
            body = _("These data-subject requests fall due within %(days)d days: %(refs)s") % {
                "days": settings.DSR_REMINDER_DAYS,
                "refs": ", ".join(reminded),
            }
            for to in recipients:
                send(Message(channel="email", to=to, subject=_("Requests falling due"), body=body))
    return reminded


def _desk_addresses() -> list[str]:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True, groups__permissions__codename="handle_dsr")
    return sorted({u.email for u in users if u.email})

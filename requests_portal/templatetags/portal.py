"""Template filters for dates and digits as the reader's language shows them.

Persian pages show Jalali dates and Persian digits; English pages show Gregorian dates.
The conversions themselves live in ``workflow.calendar`` (one implementation for the product).
"""

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from requests_portal.officer.markup import escaped_html, field_html, form_errors_html
from workflow.calendar import jalali as to_jalali
from workflow.calendar import persian_digits as to_persian_digits

register = template.Library()


def _persian() -> bool:
    return (get_language() or "").startswith("fa")


@register.filter
def pdigits(value: Any) -> str:
    """Persian digits on a Persian page; the value unchanged otherwise."""
    if value is None:
        return ""
    return to_persian_digits(value) if _persian() else str(value)


@register.filter
def jalali(value: dt.date | dt.datetime | None, style: str = "") -> str:
    """Always Jalali: ``1403/12/30``, or with ``"month"`` ``30 اسفند 1403``."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return to_jalali(value, digits="fa" if _persian() else "en", with_month_name=style == "month")


@register.filter
def localdate(value: dt.date | dt.datetime | None, style: str = "") -> str:
    """The reader's calendar: Jalali in Persian, ISO Gregorian in English."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    if _persian():
        return jalali(value, style)
    day = value.date() if isinstance(value, dt.datetime) else value
    return day.strftime("%-d %b %Y") if style == "month" else day.isoformat()


@register.filter
def localdatetime(value: dt.datetime | None) -> str:
    """Date and time (HH:MM, local time zone) in the reader's calendar and digits, isolated
    left-to-right so that a right-to-left line does not swap the date and the time."""
    if not value:
        return ""
    return localdatetime_html(value, persian=_persian(), zone=timezone.get_current_timezone())


def localdatetime_html(value: dt.datetime, *, persian: bool, zone: dt.tzinfo) -> SafeString:
    """``localdatetime`` with the language and the time zone given: for a list of many moments
    (an order's timeline), which looks them up once."""
    moment = value.astimezone(zone) if timezone.is_aware(value) else value
    time = f"{moment.hour:02d}:{moment.minute:02d}"
    if persian:
        text = f"{to_jalali(moment.date(), digits='fa')} {to_persian_digits(time)}"
    else:
        text = f"{moment.date().isoformat()} {time}"
    return escaped_html(f'<span class="num">{escape(text)}</span>')


@register.filter
def days_until(value: dt.date | None) -> int | None:
    if not value:
        return None
    return (value - timezone.localdate()).days


@register.simple_tag
def today_local(style: str = "month") -> str:
    return localdate(timezone.localdate(), style)


@register.filter
def role_label(role: str | None) -> str:
    from requests_portal.roles import Role

    return str(Role(role).label) if role in Role.values else ""


@register.filter
def listing(values: Any) -> str:
    """Items joined with the reader's comma (، in Persian)."""
    return ("، " if _persian() else ", ").join(str(v) for v in values or [])


@register.filter
def evidence(piece: dict[str, Any]) -> str:
    """One piece of match evidence in a line: which identifier matched which column of which row."""
    if {"kind", "table", "column"} <= set(piece):
        where = f"{piece.get('source', '')}.{piece['table']}.{piece['column']} #{piece.get('row', '')}"
        text = f"{piece['kind']} → {where}"
        if piece.get("stored_as"):
            text += f" ({piece['stored_as']})"
        if piece.get("ambiguous") == "yes":
            text += " ⚠"
        return text
    return ", ".join(f"{k}: {v}" for k, v in piece.items())


@register.simple_tag
def field(bound_field: Any) -> str:
    """``{% field form.name %}``: a desk form's field with its label and errors (see
    ``requests_portal.officer.markup``)."""
    return field_html(bound_field)


@register.simple_tag
def form_errors(form: Any) -> str:
    """``{% form_errors form %}``: the errors of a form that belong to none of its fields."""
    return form_errors_html(form)

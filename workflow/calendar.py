"""Dates as Iranian users read and write them: Jalali (Solar Hijri) and Persian digits.

Every form, command and document in the product goes through these, so that "1403-12-30"
and "2025-03-20" mean the same day everywhere and an impossible date is refused everywhere
with the same message.
"""

import datetime as dt
import functools
import re

import jdatetime
from django.utils.translation import gettext as _

from workflow.errors import InvalidInput

_TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_DATE = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s*$")
# Jalali years in use are 13xx–14xx; Gregorian years 19xx–20xx. Nothing else is plausible.
_JALALI_YEARS = range(1300, 1500)
_GREGORIAN_YEARS = range(1900, 2200)


def persian_digits(value: object) -> str:
    return str(value).translate(_TO_PERSIAN)


def ascii_digits(value: str) -> str:
    return value.translate(_TO_ASCII)


def parse_date(text: str) -> dt.date:
    """Parse ``YYYY-MM-DD`` (or with / or .), Jalali when the year is 13xx/14xx, Gregorian when
    it is 19xx–21xx, in any digits. Raises InvalidInput naming what is wrong."""
    match = _DATE.match(ascii_digits(text or ""))
    if not match:
        raise InvalidInput(
            _("“%(text)s” is not a date; write it as 1403-12-30 or 2025-03-20.") % {"text": text}
        )
    year, month, day = (int(g) for g in match.groups())
    if year in _JALALI_YEARS:
        if not 1 <= month <= 12:
            raise InvalidInput(_("%(text)s: a Jalali year has 12 months.") % {"text": text})
        try:
            return jdatetime.date(year, month, day).togregorian()
        except ValueError as err:
            raise InvalidInput(
                _("%(text)s: month %(month)d of Jalali year %(year)d has no day %(day)d.")
                % {"text": text, "month": month, "year": year, "day": day}
            ) from err
    if year in _GREGORIAN_YEARS:
        try:
            return dt.date(year, month, day)
        except ValueError as err:
            raise InvalidInput(
                _("%(text)s is not a day of the Gregorian calendar.") % {"text": text}
            ) from err
    raise InvalidInput(
        _("%(text)s: the year is neither a Jalali nor a Gregorian year in use.") % {"text": text}
    )


def jalali(day: dt.date | dt.datetime, *, digits: str = "fa", with_month_name: bool = False) -> str:
    """``1403/12/30`` (Persian digits by default), or ``30 اسفند 1403`` with the month's name."""
    if isinstance(day, dt.datetime):
        day = day.date()
    return _jalali_day(day, digits, with_month_name)


@functools.lru_cache(maxsize=8192)
def _jalali_day(day: dt.date, digits: str, with_month_name: bool) -> str:
    # A page shows the same few days many times (an order's timeline, its checks): converting
    # each once per process is what keeps a long timeline cheap to render.
    jday = jdatetime.date.fromgregorian(date=day)
    if with_month_name:
        text = f"{jday.day} {jday.j_months_fa[jday.month - 1]} {jday.year}"
    else:
        text = f"{jday.year:04d}/{jday.month:02d}/{jday.day:02d}"
    return persian_digits(text) if digits == "fa" else text

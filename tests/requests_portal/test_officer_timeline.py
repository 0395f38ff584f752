"""The order's audit timeline as the order page lists it: one item per event, in the reader's
calendar, digits and time zone, with every text escaped."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone, translation

from requests_portal.officer.timeline import Entry, items_html
from requests_portal.templatetags.portal import localdatetime
from workflow.models import AuditEvent

# 10:00 UTC on 20 March 2025 is 13:30 in Tehran, on 30 Esfand 1403.
MOMENT = dt.datetime(2025, 3, 20, 10, 0, tzinfo=dt.UTC)


def entry(**overrides: object) -> Entry:
    fields: dict[str, object] = {
        "event": AuditEvent(occurred_at=MOMENT, actor="user:1", action="order.scope_approved.refused"),
        "label": "Refused: Scope approved",
        "actor": "Officer <Ann> & co",
        "refused": True,
        "reason": "You prepared this scope <yourself>.",
    }
    fields.update(overrides)
    return Entry(**fields)  # type: ignore[arg-type]


def test_a_persian_reader_sees_the_jalali_day_and_tehran_time_in_persian_digits() -> None:
    with translation.override("fa"), timezone.override(ZoneInfo("Asia/Tehran")):
        html = items_html([entry()])
        assert '<span class="num">۱۴۰۳/۱۲/۳۰ ۱۳:۳۰</span>' in html
        assert localdatetime(MOMENT) == '<span class="num">۱۴۰۳/۱۲/۳۰ ۱۳:۳۰</span>'


def test_an_english_reader_sees_the_gregorian_day() -> None:
    with translation.override("en"), timezone.override(ZoneInfo("Asia/Tehran")):
        assert '<span class="num">2025-03-20 13:30</span>' in items_html([entry()])
        assert localdatetime(MOMENT) == '<span class="num">2025-03-20 13:30</span>'


def test_a_refusal_shows_its_reason_and_every_text_is_escaped() -> None:
    with translation.override("en"):
        html = items_html([entry(), entry(refused=False, reason="", label="Order <closed>")])
    assert html.count("<li") == 2
    assert '<li class="refused">' in html
    assert "Officer &lt;Ann&gt; &amp; co" in html
    assert '<div class="small text-danger">You prepared this scope &lt;yourself&gt;.</div>' in html
    assert "Order &lt;closed&gt;" in html
    assert html.count("text-danger") == 1

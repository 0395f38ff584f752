"""The transparency report: for a half-year, the counts the big platforms publish.

Built only from recorded facts (the orders' own fields: when received, from which kind of
authority, on which instrument, how many identifiers, how decided, when delivered against
which due date), never from free text. Half-years are Gregorian (2025-H1: January–June) or
Jalali (1404-H1: Farvardin–Shahrivar), as ``parse_half_year`` reads them.

Data-subject requests come from the customers' side: a source registered with
``register_data_subject_source``. The default source reads ``workflow.DataSubjectRequest``
when that model exists and reports nothing (zeros, ``available=False``) until it does.
"""

import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import jdatetime
from django.apps import apps
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow.calendar import ascii_digits
from workflow.choices import AuthorityKind, InstrumentType, Outcome
from workflow.errors import InvalidInput
from workflow.models import DisclosureOrder, DisclosureState, OrderIdentifier, PreservationOrder

_HALF = re.compile(r"^\s*(\d{4})\s*[-/ ]?\s*[Hh]([12])\s*$")
DECIDED = (DisclosureState.CLOSED, DisclosureState.REJECTED, DisclosureState.WITHDRAWN)
PRODUCED = (Outcome.FULFILLED, Outcome.PARTIALLY_FULFILLED)


@dataclass(frozen=True)
class HalfYear:
    year: int
    half: int
    jalali: bool
    start: dt.date
    end: dt.date  # inclusive

    @property
    def label(self) -> str:
        return f"{self.year}-H{self.half}"


def parse_half_year(text: str) -> HalfYear:
    """``2025-H1`` (January–June), ``2025-H2``, or Jalali ``1404-H1`` (Farvardin–Shahrivar)."""
    match = _HALF.match(ascii_digits(text or ""))
    if not match:
        raise InvalidInput(
            _("“%(text)s” is not a half-year; write it as 2025-H1 or 1404-H2.") % {"text": text}
        )
    year, half = int(match.group(1)), int(match.group(2))
    if 1300 <= year < 1500:
        first_month = 1 if half == 1 else 7
        start = jdatetime.date(year, first_month, 1).togregorian()
        following = jdatetime.date(year, 7, 1) if half == 1 else jdatetime.date(year + 1, 1, 1)
        return HalfYear(year, half, True, start, following.togregorian() - dt.timedelta(days=1))
    if 1900 <= year < 2200:
        start = dt.date(year, 1 if half == 1 else 7, 1)
        end = dt.date(year, 6, 30) if half == 1 else dt.date(year, 12, 31)
        return HalfYear(year, half, False, start, end)
    raise InvalidInput(_("%(year)s is neither a Jalali nor a Gregorian year in use.") % {"year": year})


def half_year_of(day: dt.date, *, jalali: bool = False) -> HalfYear:
    if jalali:
        j = jdatetime.date.fromgregorian(date=day)
        return parse_half_year(f"{j.year}-H{1 if j.month <= 6 else 2}")
    return parse_half_year(f"{day.year}-H{1 if day.month <= 6 else 2}")


# --- data-subject requests: a pluggable source --------------------------------------------------


@dataclass(frozen=True)
class DataSubjectCounts:
    available: bool
    by_kind_and_outcome: dict[tuple[str, str], int] = field(default_factory=dict)
    decided: int = 0
    decided_on_time: int = 0


DataSubjectSource = Callable[[dt.date, dt.date], DataSubjectCounts]


def _requests_model_source(start: dt.date, end: dt.date) -> DataSubjectCounts:
    try:
        model = apps.get_model("workflow", "DataSubjectRequest")
    except LookupError:
        return DataSubjectCounts(available=False)
    received = model.objects.filter(submitted_at__date__gte=start, submitted_at__date__lte=end)
    rows = received.values("kind", "state").annotate(n=Count("pk"))
    counts = {(row["kind"], row["state"]): row["n"] for row in rows}
    decided = received.exclude(decided_at=None)
    on_time = _on_time(decided.values_list("decided_at", "due_on"))
    return DataSubjectCounts(True, counts, decided.count(), on_time)


def _on_time(pairs: Iterable[tuple[dt.datetime | None, dt.date]]) -> int:
    """How many were done by their due date (the store's calendar day, not UTC's)."""
    return sum(1 for done, due in pairs if done is not None and timezone.localdate(done) <= due)


_data_subject_source: DataSubjectSource = _requests_model_source


def register_data_subject_source(source: DataSubjectSource) -> None:
    """The customers' side may plug in its own counting (its model, its notion of outcome)."""
    global _data_subject_source
    _data_subject_source = source


# --- the report -----------------------------------------------------------------------------------


@dataclass
class TransparencyReport:
    period: HalfYear
    received: int
    by_authority_and_instrument: dict[tuple[str, str], int]
    by_authority: dict[str, int]
    accounts_specified: int
    decided: int
    some_data_produced: int
    no_data_found: int
    rejected: int
    withdrawn: int
    emergency: int
    preservation_orders: int
    delivered: int
    delivered_on_time: int
    open_overdue: int
    data_subject: DataSubjectCounts

    @staticmethod
    def share(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def produced_share(self) -> float | None:
        return self.share(self.some_data_produced, self.decided)

    @property
    def on_time_share(self) -> float | None:
        return self.share(self.delivered_on_time, self.delivered)


def build_report(period: HalfYear) -> TransparencyReport:
    orders = DisclosureOrder.objects.filter(received_on__gte=period.start, received_on__lte=period.end)
    pairs = {
        (row["authority__kind"], row["instrument"]): row["n"]
        for row in orders.values("authority__kind", "instrument").annotate(n=Count("pk"))
    }
    by_authority: Counter[str] = Counter()
    for (kind, _instrument), n in pairs.items():
        by_authority[kind] += n
    states = dict(orders.values_list("state").annotate(n=Count("pk")))
    closed = orders.filter(state=DisclosureState.CLOSED)
    outcomes = dict(closed.values_list("outcome").annotate(n=Count("pk")))
    delivered = orders.exclude(delivered_at=None)
    on_time = _on_time(delivered.values_list("delivered_at", "due_on"))
    today = timezone.localdate()
    open_states = [s for s in DisclosureState.values if s not in (*DECIDED, DisclosureState.DELIVERED)]
    return TransparencyReport(
        period=period,
        received=sum(pairs.values()),
        by_authority_and_instrument=pairs,
        by_authority=dict(by_authority),
        accounts_specified=OrderIdentifier.objects.filter(order__in=orders).count(),
        decided=sum(states.get(s, 0) for s in DECIDED),
        some_data_produced=sum(outcomes.get(o, 0) for o in PRODUCED),
        no_data_found=outcomes.get(Outcome.NO_DATA_FOUND, 0),
        rejected=states.get(DisclosureState.REJECTED, 0),
        withdrawn=states.get(DisclosureState.WITHDRAWN, 0),
        emergency=orders.filter(Q(emergency=True) | Q(instrument=InstrumentType.EMERGENCY_REQUEST)).count(),
        preservation_orders=PreservationOrder.objects.filter(
            received_on__gte=period.start, received_on__lte=period.end
        ).count(),
        delivered=delivered.count(),
        delivered_on_time=on_time,
        open_overdue=orders.filter(state__in=open_states, due_on__lt=min(period.end, today)).count(),
        data_subject=_data_subject_source(period.start, period.end),
    )


def report_csv(report: TransparencyReport) -> str:
    """One row per figure: section, item, count — the shape the platforms' downloads take."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["period", "from", "to", "section", "item", "count"])
    period = [report.period.label, report.period.start.isoformat(), report.period.end.isoformat()]

    def row(section: str, item: str, value: object) -> None:
        writer.writerow([*period, section, item, "" if value is None else value])

    row("orders", "received", report.received)
    for kind in AuthorityKind.values:
        row("orders by authority", kind, report.by_authority.get(kind, 0))
    for (kind, instrument), n in sorted(report.by_authority_and_instrument.items()):
        row("orders by authority and instrument", f"{kind}/{instrument}", n)
    row("orders", "accounts specified", report.accounts_specified)
    row("orders", "decided", report.decided)
    row("orders", "some data produced", report.some_data_produced)
    row("orders", "some data produced (% of decided)", report.produced_share)
    row("orders", "no data found", report.no_data_found)
    row("orders", "rejected", report.rejected)
    row("orders", "withdrawn", report.withdrawn)
    row("orders", "emergency", report.emergency)
    row("preservation", "preservation orders received", report.preservation_orders)
    row("deadlines", "delivered", report.delivered)
    row("deadlines", "delivered by the due date", report.delivered_on_time)
    row("deadlines", "delivered by the due date (%)", report.on_time_share)
    row("deadlines", "open past the due date", report.open_overdue)
    subject = report.data_subject
    if not subject.available:
        row("data-subject requests", "not recorded yet", "")
    for (kind, outcome), n in sorted(subject.by_kind_and_outcome.items()):
        row("data-subject requests", f"{kind}/{outcome}", n)
    row("data-subject requests", "decided", subject.decided)
    row("data-subject requests", "decided by the due date", subject.decided_on_time)
    return out.getvalue()

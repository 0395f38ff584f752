"""The transparency report counts recorded facts for a half-year, Gregorian or Jalali."""

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.urls import reverse

from tests.factories import AuthorityFactory, make_order, sign_in_staff
from tests.packages import complete_export
from workflow.choices import AuthorityKind, InstrumentType
from workflow.errors import InvalidInput
from workflow.models import DisclosureState
from workflow.transparency import (
    DataSubjectCounts,
    build_report,
    parse_half_year,
    register_data_subject_source,
)

S = DisclosureState


def test_half_years_read_gregorian_and_jalali() -> None:
    assert (parse_half_year("2025-H1").start, parse_half_year("2025-H1").end) == (
        dt.date(2025, 1, 1),
        dt.date(2025, 6, 30),
    )
    first = parse_half_year("۱۴۰۴-H1")
    assert (first.start, first.end) == (dt.date(2025, 3, 21), dt.date(2025, 9, 22))
    second = parse_half_year("1404-H2")
    assert (second.start, second.end) == (dt.date(2025, 9, 23), dt.date(2026, 3, 20))
    with pytest.raises(InvalidInput, match="not a half-year"):
        parse_half_year("2025-Q3")


@pytest.fixture
def period_orders(officer: Any, approver: Any) -> dict[str, Any]:
    today = dt.date.today()
    court = AuthorityFactory(kind=AuthorityKind.COURT)
    police = AuthorityFactory(kind=AuthorityKind.POLICE)
    received = {"received_on": today - dt.timedelta(days=1), "issued_on": today - dt.timedelta(days=2)}
    return {
        "closed": make_order(
            S.CLOSED, officer=officer, approver=approver, authority=court, export=complete_export, **received
        ),
        "rejected": make_order(S.REJECTED, officer=officer, authority=police, **received),
        "open": make_order(S.SCOPING, officer=officer, authority=court, **received),
    }


def test_the_report_counts_orders_by_authority_and_outcome(period_orders: dict[str, Any]) -> None:
    report = build_report(
        parse_half_year(f"{dt.date.today().year}-H{1 if dt.date.today().month <= 6 else 2}")
    )
    assert report.received == 3
    assert report.by_authority == {AuthorityKind.COURT: 2, AuthorityKind.POLICE: 1}
    assert report.by_authority_and_instrument[(AuthorityKind.COURT, InstrumentType.COURT_ORDER)] == 2
    assert report.accounts_specified == 6  # two identifiers on each order
    assert (report.decided, report.rejected, report.some_data_produced) == (2, 1, 1)
    assert report.produced_share == 50.0
    assert (report.delivered, report.delivered_on_time) == (1, 1)


def test_orders_outside_the_half_year_are_not_counted(period_orders: dict[str, Any]) -> None:
    assert build_report(parse_half_year("2001-H1")).received == 0


def test_data_subject_requests_come_from_the_registered_source(db: None) -> None:
    register_data_subject_source(
        lambda start, end: DataSubjectCounts(True, {("erasure", "completed"): 4}, 4, 3)
    )
    try:
        report = build_report(parse_half_year("2025-H1"))
    finally:
        from workflow import transparency

        register_data_subject_source(transparency._requests_model_source)
    assert report.data_subject.by_kind_and_outcome == {("erasure", "completed"): 4}
    assert report.data_subject.decided_on_time == 3


def test_the_page_and_the_csv_show_the_same_counts(
    client: Any, auditor: Any, period_orders: dict[str, Any]
) -> None:
    sign_in_staff(client, auditor)
    today = dt.date.today()
    period = f"{today.year}-H{1 if today.month <= 6 else 2}"
    page = client.get(reverse("auditor:transparency"), {"period": period}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    response = client.get(reverse("auditor:transparency_csv"), {"period": period})
    assert response["Content-Type"].startswith("text/csv")
    rows = {
        (r["section"], r["item"]): r["count"] for r in csv.DictReader(io.StringIO(response.content.decode()))
    }
    assert rows[("orders", "received")] == "3"
    assert rows[("orders by authority", "court")] == "2"
    assert rows[("orders", "rejected")] == "1"
    assert rows[("orders", "some data produced (% of decided)")] == "50.0"


def test_a_bad_half_year_is_explained(client: Any, auditor: Any, db: None) -> None:
    sign_in_staff(client, auditor)
    page = client.get(reverse("auditor:transparency"), {"period": "soon"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "is not a half-year" in page.content.decode()
    assert client.get(reverse("auditor:transparency_csv"), {"period": "soon"}).status_code == 400


def test_data_subject_requests_are_counted_from_the_customers_requests(db: None, fake_store: Any) -> None:
    import time_machine

    from workflow.services import dsr

    with time_machine.travel(dt.datetime(2025, 2, 3, 9, tzinfo=dt.UTC)):
        dsr.file_request(customer_key="store:1", kind="erasure")
        dsr.file_request(customer_key="store:2", kind="access")
    report = build_report(parse_half_year("2025-H1"))
    assert report.data_subject.available
    # an access request is taken up at once (its package is built); erasure waits for a handler
    assert report.data_subject.by_kind_and_outcome == {
        ("access", "in_progress"): 1,
        ("erasure", "submitted"): 1,
    }
    assert build_report(parse_half_year("2025-H2")).data_subject.by_kind_and_outcome == {}

"""What keeps the officers' desk fast as the table grows: a bounded number of queries per page,
and the time-per-state chart read from a summary that Celery beat keeps fresh."""

import re
from typing import Any

import pytest
from django.urls import reverse

from requests_portal.officer import queries
from tests.factories import make_order, sign_in_staff
from workflow.models import DisclosureState, StateDwell
from workflow.services import disclosure as svc
from workflow.stats import refresh_state_dwell, state_dwell
from workflow.tasks_stats import refresh_state_dwell as refresh_task

S = DisclosureState
# Session, user, OTP device, groups, permissions (2), counts by state, queue, my tasks, summary.
DASHBOARD_QUERIES = 10
# The above's first five and the order page's own reads (order, identifiers, checks, scope,
# package, timeline and its actors' names).
ORDER_PAGE_QUERIES = 14


@pytest.fixture
def officer_client(client: Any, officer: Any) -> Any:
    sign_in_staff(client, officer)
    return client


def test_the_dashboard_costs_the_same_queries_for_three_orders_or_thirty(
    officer_client: Any, officer: Any, django_assert_max_num_queries: Any
) -> None:
    # Each order has its own authority: a row that loaded its authority alone would add a query.
    for state in [S.RECEIVED, S.VERIFYING, S.SCOPING] * 10:
        make_order(state, officer=officer)
    officer_client.get(reverse("officer:dashboard"))  # the volume chart's per-process cache
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        response = officer_client.get(reverse("officer:dashboard"))
    assert response.status_code == 200
    assert len(re.findall(r'href="/officer/orders/DO-', response.content.decode())) >= 25


def test_the_order_page_costs_a_bounded_number_of_queries_however_long_its_history(
    client: Any, officer: Any, approver: Any, django_assert_max_num_queries: Any
) -> None:
    order = make_order(S.DELIVERED, officer=officer, approver=approver)
    sign_in_staff(client, officer)
    with django_assert_max_num_queries(ORDER_PAGE_QUERIES):
        response = client.get(reverse("officer:order", args=[order.reference]))
    assert response.status_code == 200


def test_an_open_order_queue_lists_emergencies_first_then_the_nearest_due_date(officer: Any) -> None:
    late = make_order(S.SCOPING, officer=officer)
    soon = make_order(S.RECEIVED, officer=officer)
    urgent = make_order(S.VERIFYING, officer=officer, emergency=True)
    type(late).objects.filter(pk=late.pk).update(due_on=soon.due_on.replace(year=soon.due_on.year + 1))
    assert list(queries.queue(officer).values_list("pk", flat=True)) == [urgent.pk, soon.pk, late.pk]


def test_the_time_per_state_summary_counts_a_state_once_an_order_has_left_it(officer: Any) -> None:
    order = make_order(S.RECEIVED, officer=officer)
    refresh_state_dwell()
    assert S.RECEIVED not in dict(state_dwell()[0])  # still received: no stay has ended yet
    svc.start_verification(order, actor=officer)
    assert refresh_task() >= 1
    figures = dict(state_dwell()[0])
    assert S.RECEIVED in figures
    assert StateDwell.objects.get(state=S.RECEIVED).stays == 1


def test_the_dashboard_reads_the_summary_until_beat_refreshes_it(officer_client: Any, officer: Any) -> None:
    order = make_order(S.RECEIVED, officer=officer)
    refresh_state_dwell()
    dashboard = reverse("officer:dashboard")
    assert "Received" not in chart(officer_client.get(dashboard, HTTP_ACCEPT_LANGUAGE="en"))
    svc.start_verification(order, actor=officer)
    assert "Received" not in chart(officer_client.get(dashboard, HTTP_ACCEPT_LANGUAGE="en"))
    refresh_task()
    assert "Received" in chart(officer_client.get(dashboard, HTTP_ACCEPT_LANGUAGE="en"))


def test_the_dashboard_computes_the_summary_itself_when_beat_has_not_run_yet(
    officer_client: Any, officer: Any, approver: Any
) -> None:
    make_order(S.CLOSED, officer=officer, approver=approver)
    assert not StateDwell.objects.exists()
    html = chart(officer_client.get(reverse("officer:dashboard"), HTTP_ACCEPT_LANGUAGE="en"))
    assert "Delivered" in html
    assert StateDwell.objects.filter(state=S.DELIVERED).exists()


def chart(response: Any) -> str:
    html = response.content.decode()
    return html[html.index("Mean days spent in each state") :]

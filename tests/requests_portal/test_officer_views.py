"""The officers' desk seen through HTTP: gates, the order page, transitions and refusals."""

import datetime as dt
import re
import time
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_order, sign_in_staff
from tests.packages import complete_export
from workflow.choices import VerificationItem
from workflow.models import AuditEvent, DisclosureOrder, DisclosureState

S = DisclosureState


@pytest.fixture
def officer_client(client: Any, officer: Any) -> Any:
    sign_in_staff(client, officer)
    return client


@pytest.fixture
def approver_client(client: Any, approver: Any) -> Any:
    sign_in_staff(client, approver)
    return client


def page_text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def reload(order: DisclosureOrder) -> DisclosureOrder:
    return DisclosureOrder.objects.get(pk=order.pk)


def post_action(client: Any, order: DisclosureOrder, action: str, **data: Any) -> Any:
    data.setdefault("version", order.version)
    return client.post(
        reverse("officer:act", args=[order.reference, action]), data, HTTP_ACCEPT_LANGUAGE="en"
    )


# --- Gates: every view refuses outsiders ------------------------------------------------------


def order_urls(order: DisclosureOrder) -> list[tuple[str, str]]:
    ref = order.reference
    return [
        ("get", reverse("officer:dashboard")),
        ("get", reverse("officer:intake")),
        ("get", reverse("officer:order", args=[ref])),
        ("post", reverse("officer:act", args=[ref, "start_verification"])),
        ("post", reverse("officer:check", args=[ref, VerificationItem.LEGAL_BASIS_CITED])),
        ("post", reverse("officer:scope", args=[ref])),
        ("get", reverse("officer:progress", args=[ref])),
        ("post", reverse("officer:match", args=[ref])),
        ("post", reverse("officer:scope_matches", args=[ref])),
        ("get", reverse("officer:package", args=[ref])),
        ("get", reverse("officer:document", args=[ref])),
        ("get", reverse("officer:preservation_list")),
        ("get", reverse("officer:preservation_intake")),
    ]


@pytest.mark.parametrize("persona", ["auditor", "administrator", "customer_user", "outsider"])
def test_no_officer_page_opens_for_someone_outside_the_legal_desk(
    client: Any, officer: Any, persona: str, request: Any
) -> None:
    order = make_order(S.RECEIVED, officer=officer)
    user = request.getfixturevalue(persona)
    if user.is_portal_staff:
        sign_in_staff(client, user)
    else:
        client.force_login(user)
    for method, url in order_urls(order):
        response = getattr(client, method)(url)
        assert response.status_code == 403, url
    assert DisclosureOrder.objects.get(pk=order.pk).state == S.RECEIVED


def test_an_anonymous_visitor_is_sent_to_sign_in_from_every_officer_page(client: Any, officer: Any) -> None:
    order = make_order(S.RECEIVED, officer=officer)
    for method, url in order_urls(order):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login"))


def test_an_unknown_order_is_not_found(officer_client: Any) -> None:
    assert officer_client.get(reverse("officer:order", args=["DO-NONE-0000"])).status_code == 404
    assert officer_client.post(reverse("officer:act", args=["DO-NONE-0000", "verify"])).status_code == 404


def test_transitions_are_post_only(officer_client: Any, officer: Any) -> None:
    order = make_order(S.RECEIVED, officer=officer)
    response = officer_client.get(reverse("officer:act", args=[order.reference, "start_verification"]))
    assert response.status_code == 405


# --- Dashboard ----------------------------------------------------------------------------------


def test_the_queue_puts_emergencies_first_and_marks_overdue_orders(officer_client: Any, officer: Any) -> None:
    today = timezone.localdate()
    late = make_order(
        S.RECEIVED,
        officer=officer,
        issued_on=today - dt.timedelta(days=20),
        received_on=today - dt.timedelta(days=19),
        due_on=today - dt.timedelta(days=2),
    )
    urgent = make_order(S.RECEIVED, officer=officer, emergency=True, due_on=today + dt.timedelta(days=9))
    html = page_text(officer_client.get(reverse("officer:dashboard"), HTTP_ACCEPT_LANGUAGE="en"))
    queue = html[html.index('id="queue"') :]
    assert queue.index(urgent.reference) < queue.index(late.reference)
    row = queue[queue.rindex("<tr", 0, queue.index(late.reference)) : queue.index(late.reference)]
    assert "is-overdue" in row
    assert "Overdue" in queue


def test_search_finds_an_order_by_a_customer_identifier_written_differently(
    officer_client: Any, officer: Any
) -> None:
    order = make_order(S.RECEIVED, officer=officer)  # names mobile 09121234567
    other = make_order(S.RECEIVED, officer=officer, identifiers=[("email", "someone@example.com")])
    html = page_text(officer_client.get(reverse("officer:dashboard"), {"q": "+98 912 123 4567"}))
    results = html[html.index('id="queue"') :]
    assert order.reference in results
    assert other.reference not in results


def test_search_finds_an_order_by_reference_and_by_the_authoritys_reference(
    officer_client: Any, officer: Any
) -> None:
    order = make_order(S.RECEIVED, officer=officer, authority_reference="KL-77/1403")
    assert order.reference in page_text(
        officer_client.get(reverse("officer:dashboard"), {"q": order.reference})
    )
    assert order.reference in page_text(officer_client.get(reverse("officer:dashboard"), {"q": "KL-77"}))


def test_an_approver_never_gets_an_order_they_prepared_as_a_task(
    client: Any, officer: Any, second_officer: Any, approver: Any
) -> None:
    prepared = make_order(S.AWAITING_APPROVAL, officer=officer)
    other = make_order(S.AWAITING_APPROVAL, officer=second_officer)
    # The officer who prepared ``prepared`` has since become an approver.
    officer.groups.set([Group.objects.get(name="approver")])
    sign_in_staff(client, officer)
    html = page_text(client.get(reverse("officer:dashboard")))
    tasks = html[html.index('id="my-tasks"') : html.index('id="queue"')]
    assert other.reference in tasks
    assert prepared.reference not in tasks


def test_the_dashboard_draws_volume_and_time_per_state_charts(
    officer_client: Any, officer: Any, approver: Any
) -> None:
    make_order(S.CLOSED, officer=officer, approver=approver)
    html = page_text(officer_client.get(reverse("officer:dashboard"), HTTP_ACCEPT_LANGUAGE="en"))
    assert html.count('class="bar"') >= 2
    assert "Mean days spent in each state" in html


# --- The order page and its transitions ---------------------------------------------------------


def test_the_order_page_offers_only_what_this_user_may_do(client: Any, officer: Any, approver: Any) -> None:
    order = make_order(S.AWAITING_APPROVAL, officer=officer)
    sign_in_staff(client, officer)
    html = page_text(client.get(reverse("officer:order", args=[order.reference]), HTTP_ACCEPT_LANGUAGE="en"))
    assert "offer-approve_scope" not in html
    assert "offer-withdraw" in html
    client.logout()
    sign_in_staff(client, approver)
    html = page_text(client.get(reverse("officer:order", args=[order.reference]), HTTP_ACCEPT_LANGUAGE="en"))
    assert "offer-approve_scope" in html
    assert "offer-withdraw" not in html


def test_an_officer_takes_an_order_through_verification(officer_client: Any, officer: Any) -> None:
    order = make_order(S.RECEIVED, officer=officer)
    response = post_action(officer_client, order, "start_verification")
    assert response.status_code == 302
    order = reload(order)
    assert order.state == S.VERIFYING
    contact = order.authority.contacts.first()
    for item in VerificationItem.values:
        order = reload(order)
        data = {f"{item}-passed": "1", f"{item}-note": "Article 104", "version": order.version}
        if item == VerificationItem.AUTHENTICITY_CONFIRMED:
            data.update(
                {
                    f"{item}-contact_id": contact.pk,
                    f"{item}-spoke_with": "Clerk",
                    f"{item}-called_at": "10:30",
                }
            )
        response = officer_client.post(reverse("officer:check", args=[order.reference, item]), data)
        assert response.status_code == 302, re.findall(r"(?:refusal|errorlist).{0,300}", page_text(response))
    order = reload(order)
    assert post_action(officer_client, order, "verify").status_code == 302
    order = reload(order)
    assert order.state == S.SCOPING


def test_verify_is_shown_disabled_with_the_missing_checks_named(officer_client: Any, officer: Any) -> None:
    order = make_order(S.VERIFYING, officer=officer)
    html = page_text(
        officer_client.get(reverse("officer:order", args=[order.reference]), HTTP_ACCEPT_LANGUAGE="en")
    )
    offer = html[html.index('id="offer-verify"') :]
    offer = offer[: offer.index("</ul>")]
    assert "disabled" in offer
    assert "Legal basis cited" in offer


def test_an_officer_sets_and_submits_a_scope(officer_client: Any, officer: Any) -> None:
    order = make_order(S.SCOPING, officer=officer)
    data = {
        "version": order.version,
        "scope-TOTAL_FORMS": "1",
        "scope-INITIAL_FORMS": "0",
        "scope-0-customer_key": "store:7",
        "scope-0-categories": ["identity", "order"],
        "scope-0-date_from": "2024-01-01",
        "scope-0-date_to": "1403/10/11",
        "scope-0-evidence": "national ID matched customers.national_id",
        "third_party_justification": "",
    }
    response = officer_client.post(reverse("officer:scope", args=[order.reference]), data)
    assert response.status_code == 302, page_text(response)[:2000]
    order = reload(order)
    item = order.scope_items.get()
    assert item.customer_key == "store:7"
    assert item.date_to == dt.date(2024, 12, 31)
    assert post_action(officer_client, order, "submit_scope").status_code == 302
    order = reload(order)
    assert order.state == S.AWAITING_APPROVAL


def test_a_scope_wider_than_the_order_is_refused_next_to_the_field(officer_client: Any, officer: Any) -> None:
    order = make_order(S.SCOPING, officer=officer)
    data = {
        "version": order.version,
        "scope-TOTAL_FORMS": "1",
        "scope-INITIAL_FORMS": "0",
        "scope-0-customer_key": "store:7",
        "scope-0-categories": ["identity"],
        "scope-0-date_from": "2024-01-01",
        "scope-0-date_to": "1403/13/40",
    }
    response = officer_client.post(
        reverse("officer:scope", args=[order.reference]), data, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    html = page_text(response)
    assert 'id="id_scope-0-date_to_error"' in html
    assert "a Jalali year has 12 months" in html
    assert not order.scope_items.exists()


def test_an_approver_approves_a_scope_and_the_export_starts(approver_client: Any, officer: Any) -> None:
    order = make_order(S.AWAITING_APPROVAL, officer=officer)
    response = post_action(approver_client, order, "approve_scope", note="")
    assert response.status_code == 302
    order = reload(order)
    assert order.state == S.EXPORTING
    html = page_text(approver_client.get(reverse("officer:order", args=[order.reference])))
    assert 'id="export-progress"' in html
    assert "every 1s" in html


def test_an_officer_cannot_approve_and_is_told_why(client: Any, officer: Any, second_officer: Any) -> None:
    order = make_order(S.AWAITING_APPROVAL, officer=officer)
    sign_in_staff(client, second_officer)
    response = post_action(client, order, "approve_scope", note="")
    assert response.status_code == 403
    assert "Your role does not allow this action" in page_text(response)
    order = reload(order)
    assert order.state == S.AWAITING_APPROVAL


def test_an_approver_who_scoped_the_order_sees_approval_refused_in_words(client: Any, officer: Any) -> None:
    order = make_order(S.AWAITING_APPROVAL, officer=officer)
    officer.groups.set([Group.objects.get(name="approver")])
    sign_in_staff(client, officer)
    html = page_text(client.get(reverse("officer:order", args=[order.reference]), HTTP_ACCEPT_LANGUAGE="en"))
    offer = html[html.index('id="offer-approve_scope"') :]
    assert "disabled" in offer[: offer.index("</form>")]
    assert "another approver must take this decision" in offer
    response = post_action(client, order, "approve_scope", note="")
    assert response.status_code == 403
    order = reload(order)
    assert order.state == S.AWAITING_APPROVAL


def test_a_stale_page_gets_a_conflict_message_not_an_error(officer_client: Any, officer: Any) -> None:
    order = make_order(S.RECEIVED, officer=officer)
    shown = order.version
    post_action(officer_client, order, "start_verification")
    response = post_action(officer_client, order, "withdraw", reason="The court withdrew it.", version=shown)
    assert response.status_code == 409
    assert "Someone else changed this order" in page_text(response)
    order = reload(order)
    assert order.state == S.VERIFYING


def test_a_missing_reason_is_shown_next_to_its_field_in_persian(officer_client: Any, officer: Any) -> None:
    order = make_order(S.RECEIVED, officer=officer)
    response = officer_client.post(
        reverse("officer:act", args=[order.reference, "withdraw"]),
        {"version": order.version, "reason": ""},
        HTTP_ACCEPT_LANGUAGE="fa",
    )
    assert response.status_code == 400
    html = page_text(response)
    assert 'id="id_reason_error"' in html
    assert "این فیلد لازم است" in html


def test_the_full_path_to_closure_in_the_browserless_client(client: Any, officer: Any, approver: Any) -> None:
    order = make_order(S.PACKAGE_READY, officer=officer, approver=approver)
    sign_in_staff(client, approver)
    assert post_action(client, order, "release").status_code == 302
    client.logout()
    sign_in_staff(client, officer)
    order = reload(order)
    time.sleep(1)  # the form is to the second; the release was recorded to the microsecond
    now = timezone.localtime()
    response = post_action(
        client,
        order,
        "record_delivery",
        method="in_person",
        recipient="Registry clerk",
        delivered_at=now.strftime("%Y-%m-%d %H:%M:%S"),
        proof="Receipt 42",
    )
    assert response.status_code == 302, re.findall(r"(?:refusal|errorlist).{0,300}", page_text(response))
    order = reload(order)
    assert post_action(client, order, "close", outcome="fulfilled").status_code == 302
    order = reload(order)
    assert order.state == S.CLOSED
    html = page_text(client.get(reverse("officer:order", args=[order.reference]), HTTP_ACCEPT_LANGUAGE="en"))
    assert "Delivery recorded" in html
    assert "Order closed" in html


def test_the_timeline_shows_refusals_with_their_reason(officer_client: Any, officer: Any) -> None:
    order = make_order(S.AWAITING_APPROVAL, officer=officer)
    post_action(officer_client, order, "approve_scope", note="")
    assert AuditEvent.objects.filter(action="order.scope_approved.refused").exists()
    html = page_text(
        officer_client.get(reverse("officer:order", args=[order.reference]), HTTP_ACCEPT_LANGUAGE="en")
    )
    assert "Refused: Scope approved" in html


def test_progress_swaps_the_page_body_when_the_export_has_finished(
    approver_client: Any, officer: Any, approver: Any
) -> None:
    order = make_order(S.EXPORTING, officer=officer, approver=approver)
    url = reverse("officer:progress", args=[order.reference])
    polling = approver_client.get(url, {"v": order.version}, HTTP_HX_REQUEST="true")
    assert 'id="export-progress"' in polling.content.decode()
    assert "HX-Retarget" not in polling
    ready = complete_export(order)
    done = approver_client.get(url, {"v": order.version}, HTTP_HX_REQUEST="true")
    assert done["HX-Retarget"] == "#order-body"
    assert "offer-release" in done.content.decode()
    assert ready.packages.get().package_id in done.content.decode()


def test_the_queue_can_show_closed_orders_and_pages_through_open_ones(
    officer_client: Any, officer: Any, approver: Any
) -> None:
    closed = make_order(S.CLOSED, officer=officer, approver=approver)
    html = page_text(officer_client.get(reverse("officer:dashboard"), {"state": "closed"}))
    assert closed.reference in html[html.index('id="queue"') :]
    for _ in range(26):
        make_order(S.RECEIVED, officer=officer)
    first = page_text(officer_client.get(reverse("officer:dashboard"), HTTP_ACCEPT_LANGUAGE="en"))
    assert "1 / 2" in first
    second = page_text(
        officer_client.get(reverse("officer:dashboard"), {"page": "2"}, HTTP_ACCEPT_LANGUAGE="en")
    )
    assert second.count("/officer/orders/DO-") >= 1

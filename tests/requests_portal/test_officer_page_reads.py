"""How a cached officer page is read: the session, the sign-in gate's state and the page in one
cache read; one render when many ask for the same missing page; the order page's small reads
compiled once. Each keeps what the page cache promised: never stale, never anyone else's."""

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.core.cache import caches
from django.db import connection
from django.db.models import F
from django.http import Http404
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from requests_portal.models import User
from requests_portal.officer import page_cache, views
from requests_portal.officer.compiled import Compiled, together
from requests_portal.officer.order_page import visible_order
from requests_portal.officer.timeline import timeline
from tests.factories import make_order, sign_in_staff
from workflow import freshness
from workflow.choices import VerificationItem
from workflow.models import AuditEvent, DisclosureOrder, DisclosureState, OrderIdentifier, ScopeItem
from workflow.permissions import order_visibility, orders_visible_as, orders_visible_to
from workflow.services import disclosure as svc

S = DisclosureState
DASHBOARD = "/officer/"


def cache_reads(client: Client, url: str) -> tuple[Any, int]:
    """The response to ``url`` and how many times the cache was asked for anything (a backend
    whose ``get_many`` calls its own ``get`` is asked once)."""
    response, calls = cache_calls(client, url, names=("get", "get_many", "add"))
    return response, len(calls)


def warm(client: Client, url: str, **headers: Any) -> None:
    client.get(url, **headers)  # the browser's first page sets its CSRF cookie: never stored
    assert client.get(url, **headers)["X-Portal-Cache"] == "miss"
    assert client.get(url, **headers)["X-Portal-Cache"] == "hit"


@pytest.fixture
def officer_client(client: Client, officer: User) -> Client:
    sign_in_staff(client, officer)
    return client


# --- One cache read -------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["dashboard", "order"])
def test_a_repeated_view_asks_the_cache_once(officer_client: Client, officer: User, page: str) -> None:
    order = make_order(S.VERIFYING, officer=officer)
    url = DASHBOARD if page == "dashboard" else reverse("officer:order", args=[order.reference])
    warm(officer_client, url)
    response, reads = cache_reads(officer_client, url)
    assert response["X-Portal-Cache"] == "hit"
    assert reads == 1  # the session, the officer's gate state and the page with its tokens


def test_the_single_read_still_refuses_a_deactivated_officer(officer_client: Client, officer: User) -> None:
    warm(officer_client, DASHBOARD)
    officer.is_active = False
    officer.save()
    response, _ = cache_reads(officer_client, DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_single_read_still_sends_a_session_without_its_code_to_the_code_step(
    officer_client: Client, officer: User
) -> None:
    from django_otp import DEVICE_ID_SESSION_KEY

    warm(officer_client, DASHBOARD)
    session = officer_client.session
    del session[DEVICE_ID_SESSION_KEY]
    session.save()
    response = officer_client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:verify"))


def test_the_single_read_never_serves_another_officers_page(
    officer_client: Client, officer: User, second_officer: User
) -> None:
    """Two officers in one browser, one after the other: the second gets their own page."""
    warm(officer_client, DASHBOARD, HTTP_ACCEPT_LANGUAGE="en")
    officer_client.logout()
    sign_in_staff(officer_client, second_officer)
    warm(officer_client, DASHBOARD, HTTP_ACCEPT_LANGUAGE="en")
    html = officer_client.get(DASHBOARD, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ">officer2 · " in html and ">officer · " not in html


def test_a_signed_out_session_reads_no_cached_page(officer_client: Client) -> None:
    warm(officer_client, DASHBOARD)
    cookies = officer_client.cookies
    officer_client.logout()
    replay = Client()
    replay.cookies = cookies  # the old session cookie, replayed
    response = replay.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_role_changed_outside_the_orm_shows_once_the_gate_reads_it_again(
    officer_client: Client, officer: User
) -> None:
    """The page is stored with the role it was rendered for: the gate's cached state lapses
    within PORTAL_STAFF_CACHE_SECONDS, and the page rendered for the old role goes with it."""
    import time_machine
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.utils import timezone

    warm(officer_client, DASHBOARD)
    through = User.groups.through
    through.objects.filter(user_id=officer.pk).update(group=Group.objects.get(name="approver"))  # no signal
    later = timezone.now() + timezone.timedelta(seconds=settings.PORTAL_STAFF_CACHE_SECONDS + 1)
    with time_machine.travel(later):
        response = officer_client.get(DASHBOARD)
    assert response["X-Portal-Cache"] == "miss"


# --- One render -------------------------------------------------------------------------------


def cache_calls(
    client: Client,
    url: str,
    names: tuple[str, ...] = ("get", "get_many", "add", "set", "delete", "delete_many", "set_many"),
) -> tuple[Any, list[str]]:
    """The response to ``url`` and the cache's methods it called, in order (a backend whose
    ``get_many`` calls its own ``get`` is counted once)."""
    backend = caches["default"]
    calls: list[str] = []
    depth = [0]

    def counting(name: str) -> Any:
        method = getattr(backend, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if depth[0] == 0:
                calls.append(name)
            depth[0] += 1
            try:
                return method(*args, **kwargs)
            finally:
                depth[0] -= 1

        return call

    with contextlib.ExitStack() as stack:
        for name in names:
            stack.enter_context(mock.patch.object(backend, name, counting(name)))
        response = client.get(url)
    return response, calls


def test_a_render_asks_the_cache_four_times(officer_client: Client, officer: User) -> None:
    """The batched read, the order's new token (nobody read it since the change), the claim,
    the store; the claim of a stored page is left to expire, not deleted."""
    order = make_order(S.VERIFYING, officer=officer)
    url = reverse("officer:order", args=[order.reference])
    warm(officer_client, url)
    freshness.renew([f"disclosureorder:{order.reference}"])
    response, calls = cache_calls(officer_client, url)
    assert response["X-Portal-Cache"] == "miss"
    assert calls == ["get_many", "add", "add", "set"]
    response, calls = cache_calls(officer_client, url)
    assert response["X-Portal-Cache"] == "hit" and calls == ["get_many"]


def test_a_stored_pages_claim_does_not_hold_up_the_render_after_a_change(
    officer_client: Client, officer: User
) -> None:
    order = make_order(S.VERIFYING, officer=officer)
    url = reverse("officer:order", args=[order.reference])
    warm(officer_client, url)  # its claim is still there, left to expire
    svc.record_check(
        order,
        actor=officer,
        item=VerificationItem.LEGAL_BASIS_CITED,
        passed=True,
        note="the next render claims anew",
        expected_version=order.version,
    )
    with mock.patch.object(page_cache.time, "sleep", side_effect=AssertionError("waited for a claim")):
        response = officer_client.get(url)  # rendered at once, not after waiting
    assert response["X-Portal-Cache"] == "miss"
    assert "the next render claims anew" in response.content.decode()


def _closing(work: Callable[[], object]) -> Callable[[], None]:
    """``work`` for a thread of its own, whose database connection is closed when it ends (left
    open, it would keep the test database from being dropped)."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    return run


@pytest.mark.django_db(transaction=True)
def test_a_request_for_a_page_being_rendered_waits_for_that_render(officer: User) -> None:
    order = make_order(S.VERIFYING, officer=officer)
    url = reverse("officer:order", args=[order.reference])
    first = Client()
    sign_in_staff(first, officer)
    first.get(url)  # the CSRF cookie
    second = Client()
    second.cookies = first.cookies  # the same browser, in another tab
    entered, release = threading.Event(), threading.Event()
    real = views.order_context
    renders = []

    def slow_context(*args: Any, **kwargs: Any) -> Any:
        renders.append(1)
        entered.set()
        release.wait(5)
        return real(*args, **kwargs)

    responses: dict[str, Any] = {}
    with mock.patch.object(views, "order_context", slow_context):
        one = threading.Thread(target=_closing(lambda: responses.update(first=first.get(url))))
        one.start()
        assert entered.wait(5)
        two = threading.Thread(target=_closing(lambda: responses.update(second=second.get(url))))
        two.start()
        time.sleep(0.1)  # the second request is waiting now, not rendering
        assert len(renders) == 1
        release.set()
        one.join(5)
        two.join(5)
    assert responses["first"]["X-Portal-Cache"] == "miss"
    assert responses["second"]["X-Portal-Cache"] == "wait"
    assert responses["second"].content == responses["first"].content
    assert len(renders) == 1


def test_a_page_whose_render_failed_is_rendered_by_the_next_request_at_once(
    officer_client: Client, officer: User
) -> None:
    order = make_order(S.RECEIVED, officer=officer)
    url = reverse("officer:order", args=[order.reference])
    officer_client.get(url)
    officer_client.raise_request_exception = False
    with mock.patch.object(views, "order_context", side_effect=RuntimeError("boom")):
        assert officer_client.get(url).status_code == 500
    began = time.monotonic()
    response = officer_client.get(url)
    assert response["X-Portal-Cache"] == "miss"
    assert time.monotonic() - began < page_cache.RENDER_WAIT_SECONDS  # no claim was left behind


def test_a_change_during_a_render_is_shown_on_the_next_view(officer_client: Client, officer: User) -> None:
    """A page rendered from rows read before a change is stored under the tokens read before it,
    which the change renewed: the next view renders again."""
    order = make_order(S.RECEIVED, officer=officer)
    url = reverse("officer:order", args=[order.reference])
    officer_client.get(url)
    real = views.order_context

    def changed_meanwhile(request: Any, shown: Any, **kwargs: Any) -> Any:
        context = real(request, shown, **kwargs)
        svc.start_verification(order, actor=officer)  # committed by someone else mid-render
        return context

    with mock.patch.object(views, "order_context", changed_meanwhile):
        assert officer_client.get(url)["X-Portal-Cache"] == "miss"
    response = officer_client.get(url)
    assert response["X-Portal-Cache"] == "miss"
    assert 'class="badge state state-verifying"' in response.content.decode()


# --- Reads compiled once ------------------------------------------------------------------------


def test_a_compiled_read_gives_what_its_queryset_gives(officer: User) -> None:
    orders = [make_order(S.VERIFYING, officer=officer) for _ in range(2)]
    by_order = Compiled(lambda pk: OrderIdentifier.objects.filter(order_id=pk), int)
    by_orders = Compiled(lambda pks: OrderIdentifier.objects.filter(order_id__in=pks).order_by("-id"), (int,))
    for order in orders:
        expected = list(OrderIdentifier.objects.filter(order_id=order.pk))
        found = by_order(order.pk)
        assert [(i.pk, i.kind, i.value, i.normalized) for i in found] == [
            (i.pk, i.kind, i.value, i.normalized) for i in expected
        ]
    for pks in ([orders[0].pk], [o.pk for o in orders]):
        assert [i.pk for i in by_orders(pks)] == list(
            OrderIdentifier.objects.filter(order_id__in=pks).order_by("-id").values_list("pk", flat=True)
        )
    assert by_order(0) == []


def test_a_compiled_read_converts_values_and_defers_fields_as_its_queryset_does(officer: User) -> None:
    order = make_order(S.SCOPING, officer=officer)
    ScopeItem.objects.create(
        order=order,
        customer_key="store:7",
        categories=["identity", "order"],
        date_from=order.requested_from,
        date_to=order.requested_to,
        match_evidence=[{"kind": "national_id", "column": "national_id"}],
        added_by=officer,
    )
    scope = Compiled(lambda pk: ScopeItem.objects.filter(order_id=pk), int)
    events = Compiled(lambda stream: AuditEvent.objects.filter(stream=stream).only("seq", "action"), str)

    def fields(rows: list[Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.__dict__.items() if k != "_state"} for row in rows]

    found = scope(order.pk)
    assert fields(found) == fields(list(ScopeItem.objects.filter(order_id=order.pk)))
    assert found[0].categories == ["identity", "order"]  # JSON read back as a list, not as text
    assert found[0].added_at == ScopeItem.objects.get(order=order).added_at  # an aware datetime
    assert not found[0]._state.adding and found[0]._state.db == "default"
    stream = f"disclosureorder:{order.reference}"
    compiled_events = events(stream)
    expected = list(AuditEvent.objects.filter(stream=stream).only("seq", "action"))
    assert compiled_events and fields(compiled_events) == fields(expected)
    assert compiled_events[0].get_deferred_fields() == expected[0].get_deferred_fields() != set()


def test_a_compiled_read_refuses_columns_that_are_not_its_models_fields(db: None) -> None:
    annotated = Compiled(
        lambda pk: OrderIdentifier.objects.filter(order_id=pk).annotate(twice=F("id") * 2), int
    )
    with pytest.raises(ValueError, match="model's fields alone"):
        annotated(1)


def test_a_compiled_read_refuses_an_argument_it_cannot_pass_unchanged(db: None) -> None:
    contains = Compiled(lambda text: OrderIdentifier.objects.filter(value__icontains=text), str)
    with pytest.raises(ValueError, match="parameter unchanged"):
        contains("0912")


def test_the_order_page_reads_each_of_its_rows_once(
    officer_client: Client, officer: User, django_assert_max_num_queries: Any
) -> None:
    order = make_order(S.VERIFYING, officer=officer)
    url = reverse("officer:order", args=[order.reference])
    officer_client.get(url)
    freshness.renew([f"disclosureorder:{order.reference}"])
    # The order, its identifiers, checks and scope, the authority's contacts, its package, its
    # events and their actors.
    with django_assert_max_num_queries(8):
        assert officer_client.get(url)["X-Portal-Cache"] == "miss"


def test_a_compiled_read_makes_the_related_instances_its_queryset_selects(officer: User) -> None:
    orders = [make_order(S.VERIFYING, officer=officer) for _ in range(2)]
    read = Compiled(
        lambda ref: DisclosureOrder.objects.select_related("authority").filter(reference=ref), str
    )
    for order in orders:
        (found,) = read(order.reference)
        expected = DisclosureOrder.objects.select_related("authority").get(reference=order.reference)
        assert found.pk == expected.pk and found.state == expected.state
        assert found.categories_requested == expected.categories_requested  # converted, as the ORM does
        with CaptureQueriesContext(connection) as asked:
            assert found.authority.name_en == expected.authority.name_en  # read with the order
            assert found.authority.pk == expected.authority_id
        assert len(asked) == 0
    assert read("DO-NONE") == []


def test_a_compiled_read_of_nothing_asks_the_database_nothing(db: None) -> None:
    nothing = Compiled(lambda ref: DisclosureOrder.objects.none().filter(reference=ref), str)
    with CaptureQueriesContext(connection) as asked:
        assert nothing("DO-1") == []
        assert together((nothing, ("DO-1",))) == [[]]
    assert len(asked) == 0


def test_reads_asked_together_give_what_each_gives_alone(officer: User) -> None:
    order = make_order(S.SCOPING, officer=officer)
    identifiers = Compiled(lambda pk: OrderIdentifier.objects.filter(order_id=pk).order_by("id"), int)
    events = Compiled(lambda stream: AuditEvent.objects.filter(stream=stream).order_by("seq"), str)
    nothing = Compiled(lambda pk: ScopeItem.objects.none().filter(order_id=pk), int)
    stream = f"disclosureorder:{order.reference}"
    found = together(
        (identifiers, (order.pk,)), (nothing, (order.pk,)), (events, (stream,)), (identifiers, (0,))
    )
    assert [i.pk for i in found[0]] == [i.pk for i in identifiers(order.pk)] != []
    assert found[1] == [] and found[3] == []
    assert [(e.seq, e.hash) for e in found[2]] == [(e.seq, e.hash) for e in events(stream)] != []


@pytest.mark.postgres
def test_reads_asked_together_take_one_round_trip_on_postgresql(officer: User) -> None:
    order = make_order(S.VERIFYING, officer=officer)
    identifiers = Compiled(lambda pk: OrderIdentifier.objects.filter(order_id=pk), int)
    events = Compiled(lambda stream: AuditEvent.objects.filter(stream=stream), str)
    with CaptureQueriesContext(connection) as asked:
        found = together((identifiers, (order.pk,)), (events, (f"disclosureorder:{order.reference}",)))
    assert len(asked) == 1
    assert found[0] and found[1]


def test_the_gate_read_is_compiled_per_kind_of_reader_and_refuses_outsiders(
    officer: User, approver: User, auditor: User, outsider: User
) -> None:
    order = make_order(S.RECEIVED, officer=officer)
    for user in (officer, approver):
        assert order_visibility(user) == "cases"
        assert visible_order(user, order.reference).pk == order.pk
        assert list(orders_visible_to(user)) == list(orders_visible_as("cases"))
    for user in (auditor, outsider):
        assert order_visibility(user) == "none"
        with CaptureQueriesContext(connection) as asked, pytest.raises(Http404):
            visible_order(user, order.reference)
        # Nothing to read (the user's role is all it asks): the gate shows them no order.
        assert not [q for q in asked.captured_queries if "workflow_disclosureorder" in q["sql"]]
    officer.is_active = False
    with pytest.raises(Http404):
        visible_order(officer, order.reference)  # asked on every call, not remembered
    officer.is_active = True
    with pytest.raises(Http404):
        visible_order(officer, "DO-NONE")


def test_the_timeline_names_each_user_its_stream_names(officer: User, approver: User) -> None:
    order = make_order(S.EXPORTING, officer=officer, approver=approver)
    User.objects.filter(pk=approver.pk).update(first_name="Ada", last_name="Approver")
    entries = timeline(order)
    actors = {e.actor for e in entries}
    assert "Ada Approver" in actors and (officer.get_full_name() or officer.username) in actors
    assert len(entries) == AuditEvent.objects.filter(stream=f"disclosureorder:{order.reference}").count()


@pytest.mark.postgres
def test_a_fresh_order_page_asks_the_database_twice_on_postgresql(
    officer_client: Client, officer: User
) -> None:
    """The order through the gate, then everything else the page shows in one round trip."""
    order = make_order(S.VERIFYING, officer=officer)
    url = reverse("officer:order", args=[order.reference])
    warm(officer_client, url)
    freshness.renew([f"disclosureorder:{order.reference}"])
    with CaptureQueriesContext(connection) as asked:
        response = officer_client.get(url)
    assert response["X-Portal-Cache"] == "miss"
    assert len(asked) == 2, [q["sql"][:80] for q in asked.captured_queries]

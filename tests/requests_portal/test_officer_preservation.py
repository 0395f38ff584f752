"""Preservation orders on the desk: list, page, register, and the hold's transitions."""

import datetime as dt
import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import sign_in_staff
from workflow.models import PreservationOrder, PreservationState
from workflow.services import preservation as svc

P = PreservationState


def registered(officer: Any, authority: Any) -> PreservationOrder:
    today = timezone.localdate()
    return svc.register_preservation(
        actor=officer,
        authority=authority,
        authority_reference="P-1403-9",
        issued_on=today - dt.timedelta(days=2),
        received_on=today - dt.timedelta(days=1),
        identifiers=[("mobile", "09121234567")],
        hold_expires_on=today + dt.timedelta(days=90),
    )


def reload(order: PreservationOrder) -> PreservationOrder:
    return PreservationOrder.objects.get(pk=order.pk)


def act(client: Any, order: PreservationOrder, action: str, **data: Any) -> Any:
    return client.post(
        reverse("officer:preservation_act", args=[order.reference, action]), data, HTTP_ACCEPT_LANGUAGE="en"
    )


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.mark.parametrize("persona", ["auditor", "administrator", "customer_user", "outsider"])
def test_preservation_pages_are_closed_to_everyone_outside_the_desk(
    client: Any, officer: Any, authority: Any, persona: str, request: Any
) -> None:
    order = registered(officer, authority)
    user = request.getfixturevalue(persona)
    if user.is_portal_staff:
        sign_in_staff(client, user)
    else:
        client.force_login(user)
    assert client.get(reverse("officer:preservation_list")).status_code == 403
    assert client.get(reverse("officer:preservation", args=[order.reference])).status_code == 403
    assert act(client, order, "start_verification").status_code == 403
    assert reload(order).state == P.RECEIVED


def test_an_unknown_preservation_order_is_not_found(client: Any, officer: Any) -> None:
    sign_in_staff(client, officer)
    assert client.get(reverse("officer:preservation", args=["PO-NONE-0000"])).status_code == 404


def test_an_officer_registers_a_preservation_order(client: Any, officer: Any, authority: Any) -> None:
    sign_in_staff(client, officer)
    response = client.post(
        reverse("officer:preservation_intake"),
        {
            "authority": authority.pk,
            "authority_reference": "P-77",
            "issued_on": "1403/12/20",
            "received_on": "1403/12/21",
            "hold_expires_on": (timezone.localdate() + dt.timedelta(days=60)).isoformat(),
            "identifier-TOTAL_FORMS": "1",
            "identifier-INITIAL_FORMS": "0",
            "identifier-0-kind": "email",
            "identifier-0-value": "Someone@Example.com",
        },
    )
    assert response.status_code == 302
    order = PreservationOrder.objects.get()
    assert order.identifiers == [{"kind": "email", "value": "someone@example.com"}]
    assert order.reference in text(client.get(reverse("officer:preservation_list")))


def test_a_hold_is_placed_by_an_approver_who_did_not_verify(
    client: Any, officer: Any, approver: Any, authority: Any
) -> None:
    order = registered(officer, authority)
    sign_in_staff(client, officer)
    assert act(client, order, "start_verification").status_code == 302
    assert act(client, order, "verify", customer_keys="store:5\nstore:9").status_code == 302
    assert reload(order).customer_keys == ["store:5", "store:9"]
    html = text(client.get(reverse("officer:preservation", args=[order.reference])))
    assert "offer-place_hold" not in html  # officers do not place holds
    client.logout()
    sign_in_staff(client, approver)
    assert act(client, order, "place_hold").status_code == 302
    assert reload(order).state == P.PRESERVING
    response = act(client, order, "renew", until="2020-01-01")
    assert response.status_code == 400
    assert "beyond its current expiry" in text(response)


def test_a_missing_reason_to_release_a_hold_is_shown_next_to_the_field(
    client: Any, officer: Any, approver: Any, authority: Any
) -> None:
    order = registered(officer, authority)
    order = svc.start_verification(order, actor=officer)
    order = svc.verify(order, actor=officer, customer_keys=["store:5"])
    order = svc.place_hold(order, actor=approver)
    sign_in_staff(client, approver)
    response = act(client, order, "release_hold", reason="")
    assert response.status_code == 400
    assert 'id="id_reason_error"' in text(response)
    assert reload(order).state == P.PRESERVING

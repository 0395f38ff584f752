"""Preservation orders: the hold, its four eyes, renewal, expiry and conversion."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import make_order
from workflow.errors import ConditionsUnmet, FourEyesViolation, InvalidInput, NotPermitted, WrongState
from workflow.models import AuditEvent, PreservationOrder, PreservationState
from workflow.services import preservation as svc

P = PreservationState


def _register(officer, authority, **overrides):
    today = timezone.localdate()
    values = {
        "authority": authority,
        "authority_reference": "PRS-1403-77",
        "issued_on": today - dt.timedelta(days=2),
        "received_on": today,
        "identifiers": [("national_id", "0499370899")],
        "hold_expires_on": today + dt.timedelta(days=90),
    }
    values.update(overrides)
    return svc.register_preservation(actor=officer, **values)


def _held(officer, approver, authority):
    order = _register(officer, authority)
    order = svc.start_verification(order, actor=officer)
    order = svc.verify(order, actor=officer, customer_keys=["store:1", "store:2"])
    return svc.place_hold(order, actor=approver)


def test_a_verified_preservation_order_places_a_legal_hold(officer, approver, authority):
    order = _held(officer, approver, authority)
    assert order.state == P.PRESERVING
    assert svc.held_customer_keys() == {"store:1", "store:2"}
    assert order.holds_customer("store:1")


def test_the_verifier_cannot_place_the_hold(officer, authority):
    from django.contrib.auth.models import Group

    officer.groups.add(Group.objects.get(name="approver"))
    order = svc.verify(
        svc.start_verification(_register(officer, authority), actor=officer),
        actor=officer,
        customer_keys=["store:1"],
    )
    with pytest.raises(FourEyesViolation):
        svc.place_hold(order, actor=officer)


def test_a_hold_needs_verification_first(officer, approver, authority):
    order = svc.start_verification(_register(officer, authority), actor=officer)
    with pytest.raises(ConditionsUnmet, match="verified"):
        svc.place_hold(order, actor=approver)


def test_an_officer_cannot_place_a_hold(officer, second_officer, authority):
    order = svc.verify(
        svc.start_verification(_register(officer, authority), actor=officer),
        actor=officer,
        customer_keys=["store:1"],
    )
    with pytest.raises(NotPermitted):
        svc.place_hold(order, actor=second_officer)


def test_renewal_must_extend_the_hold(officer, approver, authority):
    order = _held(officer, approver, authority)
    with pytest.raises(InvalidInput):
        svc.renew(order, actor=approver, until=order.hold_expires_on)
    later = order.hold_expires_on + dt.timedelta(days=90)
    order = svc.renew(order, actor=approver, until=later)
    assert order.hold_expires_on == later and order.renewals == 1


def test_expired_holds_are_released_by_the_system(officer, approver, authority, time_machine):
    order = _held(officer, approver, authority)
    time_machine.move_to(timezone.now() + dt.timedelta(days=120))
    assert svc.expire_holds() == [order.reference]
    assert PreservationOrder.objects.get(pk=order.pk).state == P.RELEASED
    assert svc.held_customer_keys() == set()
    assert AuditEvent.objects.filter(action="preservation.expired", actor="system").exists()


def test_conversion_links_the_disclosure_order_of_the_same_authority(officer, approver, authority):
    order = _held(officer, approver, authority)
    disclosure = make_order("received", officer=officer, authority=authority)
    order = svc.convert(order, actor=officer, disclosure=disclosure)
    assert order.state == P.CONVERTED and order.converted_to == disclosure


def test_a_released_hold_cannot_be_renewed(officer, approver, authority):
    order = svc.release_hold(
        _held(officer, approver, authority), actor=approver, reason="Lifted by the court."
    )
    with pytest.raises(WrongState):
        svc.renew(order, actor=approver, until=timezone.localdate() + dt.timedelta(days=400))


def test_registration_reports_each_problem(officer, authority):
    with pytest.raises(InvalidInput) as refused:
        _register(
            officer,
            authority,
            identifiers=[("national_id", "123")],
            hold_expires_on=timezone.localdate() - dt.timedelta(days=1),
        )
    assert set(refused.value.field_errors) == {"identifiers", "hold_expires_on"}
    assert PreservationOrder.objects.count() == 0

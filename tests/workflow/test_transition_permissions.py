"""Every transition, tried by every role: allowed for exactly the roles the design names."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import UserFactory, make_order
from workflow.errors import NotPermitted
from workflow.models import DisclosureOrder, DisclosureState
from workflow.services import disclosure as svc

S = DisclosureState
ROLES = ["legal_officer", "approver", "auditor", "administrator", "customer", None]

# action name → (state the order is in, the call, roles allowed)
ACTIONS = {
    "start_verification": (S.RECEIVED, lambda o, u: svc.start_verification(o, actor=u), {"legal_officer"}),
    "request_clarification": (
        S.VERIFYING,
        lambda o, u: svc.request_clarification(o, actor=u, question="Which account?"),
        {"legal_officer"},
    ),
    "receive_clarification": (
        S.CLARIFICATION_REQUESTED,
        lambda o, u: svc.receive_clarification(o, actor=u),
        {"legal_officer"},
    ),
    "reject": (
        S.VERIFYING,
        lambda o, u: svc.reject(o, actor=u, code="defective", letter="Unsigned."),
        {"legal_officer"},
    ),
    "submit_scope": (S.SCOPING, lambda o, u: svc.submit_scope(o, actor=u), {"legal_officer"}),
    "return_scope": (
        S.AWAITING_APPROVAL,
        lambda o, u: svc.return_scope(o, actor=u, reason="Too wide."),
        {"approver"},
    ),
    "approve_scope": (S.AWAITING_APPROVAL, lambda o, u: svc.approve_scope(o, actor=u), {"approver"}),
    "retry_export": (
        S.EXPORT_FAILED,
        lambda o, u: svc.retry_export(o, actor=u),
        {"legal_officer", "approver"},
    ),
    "return_package": (
        S.PACKAGE_READY,
        lambda o, u: svc.return_package(o, actor=u, reason="Wrong customer."),
        {"approver"},
    ),
    "release": (S.PACKAGE_READY, lambda o, u: svc.release(o, actor=u), {"approver"}),
    "record_delivery": (
        S.RELEASED,
        lambda o, u: svc.record_delivery(
            o, actor=u, method="courier", recipient="Clerk", delivered_at=timezone.now(), proof="Receipt 7"
        ),
        {"legal_officer"},
    ),
    "close": (S.DELIVERED, lambda o, u: svc.close(o, actor=u, outcome="fulfilled"), {"legal_officer"}),
    "withdraw": (
        S.SCOPING,
        lambda o, u: svc.withdraw(o, actor=u, reason="Withdrawn by letter."),
        {"legal_officer"},
    ),
}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "no-role")
@pytest.mark.parametrize("action", ACTIONS)
def test_each_transition_is_allowed_for_exactly_its_roles(action, role, officer, approver):
    state, call, allowed = ACTIONS[action]
    order = make_order(state, officer=officer, approver=approver)
    actor = UserFactory(role=role)  # a fresh person: never the order's own preparer
    if role in allowed:
        moved = call(order, actor)
        assert moved.state != state
    else:
        with pytest.raises(NotPermitted):
            call(order, actor)
        assert DisclosureOrder.objects.get(pk=order.pk).state == state


def test_an_inactive_officer_can_do_nothing(officer):
    order = make_order(S.RECEIVED, officer=officer)
    officer.is_active = False
    officer.save()
    with pytest.raises(NotPermitted):
        svc.start_verification(order, actor=officer)


def test_the_releaser_may_not_be_the_scoper(officer, approver):
    from django.contrib.auth.models import Group

    from workflow.errors import FourEyesViolation

    order = make_order(S.PACKAGE_READY, officer=officer, approver=approver)
    officer.groups.add(Group.objects.get(name="approver"))
    with pytest.raises(FourEyesViolation):
        svc.release(order, actor=officer)


def test_verify_emergency_refuses_a_past_follow_up_deadline(officer):
    from workflow.errors import InvalidInput

    order = make_order(S.VERIFYING, officer=officer, emergency=True)
    with pytest.raises(InvalidInput):
        svc.verify_emergency(order, actor=officer, followup_due=timezone.localdate() - dt.timedelta(days=1))

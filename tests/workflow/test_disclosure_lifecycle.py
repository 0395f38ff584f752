"""The disclosure order's lifecycle, through the services, state by state."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import default_scope, intake, make_order
from workflow.choices import DataCategory, NoticeRule, VerificationItem
from workflow.errors import (
    ConditionsUnmet,
    FourEyesViolation,
    InvalidInput,
    NotPermitted,
    StaleVersion,
    WrongState,
)
from workflow.models import AuditEvent, DisclosureOrder, DisclosureState
from workflow.services import disclosure as svc

S = DisclosureState
ALL_STATES = [s for s in S.values]


@pytest.mark.parametrize("state", ALL_STATES)
def test_an_order_reaches_every_state_through_the_services(state, officer, approver):
    order = make_order(state, officer=officer, approver=approver)
    assert DisclosureOrder.objects.get(pk=order.pk).state == state


def test_every_transition_is_audited_in_the_order_stream(officer, approver):
    order = make_order(S.CLOSED, officer=officer, approver=approver)
    actions = list(
        AuditEvent.objects.filter(stream=f"disclosureorder:{order.reference}").values_list(
            "action", flat=True
        )
    )
    assert actions[0] == "order.received"
    for action in (
        "order.verified",
        "order.scope_submitted",
        "order.scope_approved",
        "order.package_ready",
        "order.released",
        "order.delivered",
        "order.closed",
    ):
        assert action in actions
    assert actions[-1] == "order.closed"


def test_an_officer_cannot_verify_before_every_check_has_passed(officer, authority):
    order = make_order(S.VERIFYING, officer=officer, authority=authority)
    svc.record_check(
        order, actor=officer, item=VerificationItem.LEGAL_BASIS_CITED, passed=True, note="Art. 104"
    )
    with pytest.raises(ConditionsUnmet) as refused:
        svc.verify(order, actor=officer)
    assert "verification checklist" in str(refused.value)
    assert DisclosureOrder.objects.get(pk=order.pk).state == S.VERIFYING


def test_competence_cannot_be_asserted_against_the_registry(officer, authority):
    order = make_order(S.VERIFYING, officer=officer, authority=authority)
    authority.instruments.all().delete()
    with pytest.raises(InvalidInput, match="competent"):
        svc.record_check(order, actor=officer, item=VerificationItem.AUTHORITY_COMPETENT, passed=True)


def test_authenticity_needs_an_independently_found_contact(officer, authority):
    order = make_order(S.VERIFYING, officer=officer, authority=authority)
    with pytest.raises(InvalidInput):
        svc.record_check(
            order,
            actor=officer,
            item=VerificationItem.AUTHENTICITY_CONFIRMED,
            passed=True,
            details={"contact_id": "999999", "spoke_with": "x", "called_at": "now"},
        )


def test_approver_cannot_approve_a_scope_they_prepared(officer, approver, authority):
    """Four eyes: here the approver also scoped the order (they hold both permissions)."""
    from django.contrib.auth.models import Group

    approver.groups.add(Group.objects.get(name="legal_officer"))
    order = make_order(S.SCOPING, officer=officer, authority=authority)
    order = svc.set_scope(order, actor=approver, lines=default_scope(order))
    order = svc.submit_scope(order, actor=approver)
    with pytest.raises(FourEyesViolation):
        svc.approve_scope(order, actor=approver)
    assert DisclosureOrder.objects.get(pk=order.pk).state == S.AWAITING_APPROVAL
    refusal = AuditEvent.objects.filter(action="order.scope_approved.refused").get()
    assert refusal.data["code"] == "four_eyes"


def test_the_database_refuses_an_approval_by_the_verifier_even_through_a_raw_update(officer, approver):
    from django.db import IntegrityError, transaction

    order = make_order(S.AWAITING_APPROVAL, officer=officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        DisclosureOrder.objects.filter(pk=order.pk).update(scope_approved_by=officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        DisclosureOrder.objects.filter(pk=order.pk).update(released_by=officer)
    DisclosureOrder.objects.filter(pk=order.pk).update(scope_approved_by=approver)  # another person: allowed


def test_a_scope_wider_than_the_order_cannot_be_submitted(officer, authority):
    order = make_order(S.SCOPING, officer=officer, authority=authority)
    wide = [svc.ScopeLine("store:1", [DataCategory.REVIEW], order.requested_from, order.requested_to)]
    order = svc.set_scope(order, actor=officer, lines=wide)
    with pytest.raises(ConditionsUnmet) as refused:
        svc.submit_scope(order, actor=officer)
    assert "was not requested" in str(refused.value)

    early = [svc.ScopeLine("store:1", [DataCategory.IDENTITY], dt.date(2020, 1, 1), order.requested_to)]
    order = svc.set_scope(order, actor=officer, lines=early)
    with pytest.raises(ConditionsUnmet, match="date range is wider"):
        svc.submit_scope(order, actor=officer)


def test_credentials_are_refused_in_the_request_and_the_scope(officer, authority):
    with pytest.raises(InvalidInput, match="Credentials"):
        svc.register_order(intake(authority, categories=[DataCategory.CREDENTIAL]), actor=officer)
    order = make_order(S.SCOPING, officer=officer, authority=authority)
    with pytest.raises(InvalidInput, match="Credentials"):
        svc.set_scope(
            order,
            actor=officer,
            lines=[
                svc.ScopeLine("store:1", [DataCategory.CREDENTIAL], order.requested_from, order.requested_to)
            ],
        )


def test_third_party_data_needs_a_recorded_justification(officer, authority):
    order = make_order(
        S.SCOPING,
        officer=officer,
        authority=authority,
        categories=[DataCategory.IDENTITY, DataCategory.THIRD_PARTY_RECIPIENT],
    )
    lines = [
        svc.ScopeLine(
            "store:1", [DataCategory.THIRD_PARTY_RECIPIENT], order.requested_from, order.requested_to
        )
    ]
    order = svc.set_scope(order, actor=officer, lines=lines)
    with pytest.raises(ConditionsUnmet, match="justification"):
        svc.submit_scope(order, actor=officer)
    order = svc.set_scope(
        order, actor=officer, lines=lines, third_party_justification="The recipient is a suspect."
    )
    assert svc.submit_scope(order, actor=officer).state == S.AWAITING_APPROVAL


def test_clarification_pauses_the_due_date_clock(officer, authority, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC))
    order = make_order(
        S.VERIFYING,
        officer=officer,
        authority=authority,
        issued_on=dt.date(2026, 2, 25),
        received_on=dt.date(2026, 2, 28),
        due_on=dt.date(2026, 3, 10),
    )
    order = svc.request_clarification(order, actor=officer, question="Which account?")
    time_machine.move_to(dt.datetime(2026, 3, 8, 9, tzinfo=dt.UTC))
    order = svc.receive_clarification(order, actor=officer)
    assert order.due_on == dt.date(2026, 3, 17)
    assert order.original_due_on == dt.date(2026, 3, 10)


def test_the_emergency_path_scopes_after_identity_only_verification(officer, authority):
    order = make_order(S.VERIFYING, officer=officer, authority=authority, emergency=True)
    contact = authority.contacts.first()
    for item in (VerificationItem.AUTHORITY_COMPETENT, VerificationItem.AUTHENTICITY_CONFIRMED):
        order = svc.record_check(
            order,
            actor=officer,
            item=item,
            passed=True,
            details={"contact_id": str(contact.pk), "spoke_with": "duty officer", "called_at": "02:10"},
        )
    with pytest.raises(ConditionsUnmet):
        svc.verify(order, actor=officer)
    order = svc.verify_emergency(
        order, actor=officer, followup_due=timezone.localdate() + dt.timedelta(days=3)
    )
    assert order.state == S.SCOPING and order.emergency_followup_due is not None


def test_an_emergency_order_cannot_close_without_its_formal_order(officer, approver, authority):
    order = make_order(S.DELIVERED, officer=officer, approver=approver, authority=authority, emergency=True)
    with pytest.raises(ConditionsUnmet, match="formal order"):
        svc.close(order, actor=officer, outcome="fulfilled")
    order = svc.record_formal_order(order, actor=officer, received_on=timezone.localdate())
    assert svc.close(order, actor=officer, outcome="fulfilled").state == S.CLOSED


def test_a_stale_page_gets_a_conflict_not_a_second_transition(officer, authority):
    order = make_order(S.RECEIVED, officer=officer, authority=authority)
    shown_version = order.version
    svc.start_verification(order, actor=officer, expected_version=shown_version)
    with pytest.raises(StaleVersion):
        svc.withdraw(order, actor=officer, reason="x", expected_version=shown_version)


def test_a_withdrawn_order_cannot_move_again(officer, authority):
    order = make_order(S.WITHDRAWN, officer=officer, authority=authority)
    with pytest.raises(WrongState, match="Withdrawn"):
        svc.start_verification(order, actor=officer)


def test_released_orders_cannot_be_withdrawn(officer, approver, authority):
    order = make_order(S.RELEASED, officer=officer, approver=approver, authority=authority)
    with pytest.raises(WrongState):
        svc.withdraw(order, actor=officer, reason="too late")


def test_reasons_are_required_where_the_design_says_so(officer, approver, authority):
    order = make_order(S.AWAITING_APPROVAL, officer=officer, authority=authority)
    with pytest.raises(InvalidInput):
        svc.return_scope(order, actor=approver, reason="  ")
    with pytest.raises(InvalidInput):
        svc.withdraw(order, actor=officer, reason="")
    verifying = make_order(S.VERIFYING, officer=officer, authority=authority)
    with pytest.raises(InvalidInput):
        svc.reject(verifying, actor=officer, code="overbroad", letter="")


def test_intake_reports_every_problem_at_once(officer, authority):
    bad = intake(
        authority,
        received_on=dt.date(2020, 1, 1),
        requested_from=dt.date(2025, 1, 1),
        requested_to=dt.date(2024, 1, 1),
        identifiers=[("national_id", "0499370898")],
        notice_rule=NoticeRule.WITHHOLD_UNTIL_DATE,
    )
    with pytest.raises(InvalidInput) as refused:
        svc.register_order(bad, actor=officer)
    assert set(refused.value.field_errors) >= {
        "received_on",
        "requested_to",
        "identifiers",
        "notice_withheld_until",
    }
    assert DisclosureOrder.objects.count() == 0


def test_roles_without_the_permission_are_refused_and_the_refusal_is_audited(
    officer, approver, auditor, authority
):
    order = make_order(S.AWAITING_APPROVAL, officer=officer, authority=authority)
    with pytest.raises(NotPermitted):
        svc.approve_scope(order, actor=auditor)
    with pytest.raises(NotPermitted):
        svc.return_scope(order, actor=officer, reason="an officer may not decide")
    refused = AuditEvent.objects.filter(action__endswith=".refused").values_list("actor", "action")
    assert set(refused) == {
        (f"user:{auditor.pk}", "order.scope_approved.refused"),
        (f"user:{officer.pk}", "order.scope_returned.refused"),
    }

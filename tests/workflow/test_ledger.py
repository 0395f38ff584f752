"""The disclosure ledger: what a customer sees, and that an embargo never leaks."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from tests.factories import make_order
from workflow.choices import NoticeRule
from workflow.ledger import ledger_for
from workflow.models import AuditEvent, CustomerNotice, DisclosureState
from workflow.services import disclosure
from workflow.services.notices import notify_visible_disclosures

pytestmark = pytest.mark.usefixtures("english")

S = DisclosureState


def embargoed(officer, approver, *, days=30, state=S.CLOSED):
    return make_order(
        state,
        officer=officer,
        approver=approver,
        notice_rule=NoticeRule.WITHHOLD_UNTIL_DATE,
        notice_withheld_until=timezone.localdate() + dt.timedelta(days=days),
    )


def test_a_released_order_appears_with_authority_date_instrument_and_categories(db, officer, approver):
    order = make_order(S.DELIVERED, officer=officer, approver=approver)
    [entry] = ledger_for("store:1", language="en")
    assert entry.order_reference == order.reference
    assert entry.authority_en == order.authority.name_en
    assert entry.authority_fa == order.authority.name_fa
    assert entry.instrument_label == "Court order"
    assert entry.authority_name == order.authority.name_en
    [persian] = ledger_for("store:1", language="fa")
    assert persian.authority_name == order.authority.name_fa
    assert persian.instrument_label == "دستور دادگاه"
    assert entry.disclosed_on == timezone.localdate(order.released_at)
    assert set(entry.categories) == {"identity", "order"}


def test_orders_not_yet_released_are_not_in_the_ledger(db, officer, approver):
    for state in (S.SCOPING, S.AWAITING_APPROVAL, S.PACKAGE_READY, S.WITHDRAWN):
        make_order(state, officer=officer, approver=approver)
    assert ledger_for("store:1") == []


def test_a_customer_never_sees_another_customers_ledger(db, officer, approver):
    make_order(S.CLOSED, officer=officer, approver=approver)
    assert ledger_for("store:2") == []
    assert ledger_for("") == []


def test_customer_never_sees_an_embargoed_disclosure_until_its_date(db, officer, approver):
    visible = make_order(S.CLOSED, officer=officer, approver=approver)
    embargoed(officer, approver, days=30)
    assert [e.order_reference for e in ledger_for("store:1")] == [visible.reference]
    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        assert len(ledger_for("store:1")) == 2


def test_an_order_withheld_until_lifted_appears_once_lifted(db, officer, approver):
    order = make_order(
        S.CLOSED, officer=officer, approver=approver, notice_rule=NoticeRule.WITHHOLD_UNTIL_LIFTED
    )
    with time_machine.travel(timezone.now() + dt.timedelta(days=3650)):
        assert ledger_for("store:1") == []
    disclosure.lift_non_disclosure(order, actor=officer)
    assert [e.order_reference for e in ledger_for("store:1")] == [order.reference]


def test_the_customer_is_notified_only_after_the_embargo_ends_and_only_once(
    db, fake_store, officer, approver, run_on_commit
):
    order = embargoed(officer, approver, days=10)
    with run_on_commit():
        assert notify_visible_disclosures() == 0
    assert mail.outbox == []
    assert not CustomerNotice.objects.exists()
    assert not AuditEvent.objects.filter(action="order.customer_notified").exists()
    with time_machine.travel(timezone.now() + dt.timedelta(days=11)), run_on_commit():
        assert notify_visible_disclosures() == 1
        assert notify_visible_disclosures() == 0
    assert [m.to for m in mail.outbox] == [["maryam@example.ir"]]
    assert order.reference not in mail.outbox[0].body  # the message says "sign in", not what
    assert AuditEvent.objects.filter(
        action="order.customer_notified", object_ref=f"disclosureorder:{order.reference}"
    ).exists()


def test_a_lift_by_an_officer_leads_to_a_notice(db, fake_store, officer, approver, run_on_commit):
    order = make_order(
        S.RELEASED, officer=officer, approver=approver, notice_rule=NoticeRule.WITHHOLD_UNTIL_LIFTED
    )
    with run_on_commit():
        assert notify_visible_disclosures() == 0
        disclosure.lift_non_disclosure(order, actor=officer)
        assert notify_visible_disclosures() == 1
    assert len(mail.outbox) == 1


def test_preservation_orders_never_appear_in_the_ledger(db, officer, approver, authority):
    from workflow.services import preservation

    order = preservation.register_preservation(
        actor=officer,
        authority=authority,
        authority_reference="P-1",
        issued_on=timezone.localdate(),
        received_on=timezone.localdate(),
        identifiers=[("mobile", "09121234567")],
        hold_expires_on=timezone.localdate() + dt.timedelta(days=90),
    )
    order = preservation.start_verification(order, actor=officer)
    order = preservation.verify(order, actor=officer, customer_keys=["store:1"])
    preservation.place_hold(order, actor=approver)
    assert ledger_for("store:1") == []

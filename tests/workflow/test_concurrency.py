"""Concurrent transitions of one order on PostgreSQL: exactly one wins, the rest get a clear conflict."""

import threading

import pytest
from django.db import connection

from tests.factories import make_order
from workflow.audit.verify import verify_chains
from workflow.errors import DomainError, WrongState
from workflow.models import AuditEvent, DisclosureOrder, DisclosureState

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_approvers_racing_on_one_order_give_exactly_one_approval(officer, approver):
    from tests.factories import UserFactory
    from workflow.services import disclosure as svc

    order = make_order(DisclosureState.AWAITING_APPROVAL, officer=officer)
    approvers = [UserFactory(role="approver") for _ in range(20)]
    start = threading.Barrier(20)
    outcomes: list[object] = []

    def approve(user):
        try:
            start.wait()
            svc.approve_scope(DisclosureOrder.objects.get(pk=order.pk), actor=user)
            outcomes.append("approved")
        except DomainError as err:
            outcomes.append(err)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("approved") == 1
    conflicts = [o for o in outcomes if o != "approved"]
    assert len(conflicts) == 19 and all(isinstance(c, WrongState) for c in conflicts)
    assert "Exporting" in str(conflicts[0])
    stream = f"disclosureorder:{order.reference}"
    assert AuditEvent.objects.filter(stream=stream, action="order.scope_approved").count() == 1
    assert AuditEvent.objects.filter(stream=stream, action="order.scope_approved.refused").count() == 19
    assert verify_chains().intact

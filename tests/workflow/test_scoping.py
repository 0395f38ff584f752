import datetime as dt

import pytest

from tests.factories import make_order
from tests.workflow.store_helpers import seed
from workflow.choices import DataCategory
from workflow.errors import ConditionsUnmet, InvalidInput, NotPermitted, WrongState
from workflow.matching import MatchStatus
from workflow.models import AuditEvent
from workflow.services import disclosure as svc
from workflow.services.scoping import CustomerChoice, match_order, scope_from_matches
from workflow.store import PERSONAS

MARYAM, SARA = PERSONAS[0], PERSONAS[1]
REQUESTED = [DataCategory.IDENTITY, DataCategory.CONTACT, DataCategory.THIRD_PARTY_RECIPIENT]


@pytest.fixture
def store(tmp_path, settings):
    seeded = seed(tmp_path, customers=20)
    settings.STORE_DATAMAPS = [str(seeded.datamap_path)]
    return seeded


@pytest.fixture
def order(store, officer):
    return make_order(
        "scoping",
        officer=officer,
        categories=REQUESTED,
        identifiers=[
            ("national_id", MARYAM.national_id),
            ("mobile", "09351112233"),
            ("landline", "02122334455"),
        ],
    )


def test_matching_an_order_shows_each_identifier_with_its_evidence(order, officer):
    report = match_order(order, actor=officer)
    statuses = {m.kind: (m.status, m.customer_keys) for m in report.identifiers}
    assert statuses == {
        "national_id": (MatchStatus.MATCHED, ("store:1",)),
        "mobile": (MatchStatus.MATCHED, ("store:2",)),
        "landline": (MatchStatus.AMBIGUOUS, ("store:4", "store:5")),
    }
    assert report.conflicting
    assert report.customer("store:1").evidence[0].column == "national_id"


def test_matching_is_audited_without_the_values_matched(order, officer):
    match_order(order, actor=officer)
    event = AuditEvent.objects.filter(action="order.identifiers_matched").get()
    assert event.data["customers"] == ["store:1", "store:2", "store:4", "store:5"]
    assert event.data["statuses"]["ambiguous"] == 1
    assert MARYAM.national_id not in str(event.data)


def test_chosen_matches_become_scope_lines_carrying_their_evidence(order, officer):
    report = match_order(order, actor=officer)
    order = scope_from_matches(order, actor=officer, report=report, choices=[CustomerChoice("store:1")])
    [item] = order.scope_items.all()
    assert item.customer_key == "store:1"
    # Third-party data is left out unless a justification is recorded.
    assert item.categories == sorted([DataCategory.IDENTITY, DataCategory.CONTACT])
    assert (item.date_from, item.date_to) == (order.requested_from, order.requested_to)
    assert item.match_evidence[0]["table"] == "customers"
    assert item.match_evidence[0]["stored_as"] == MARYAM.stored_national_id
    svc.submit_scope(order, actor=officer)


def test_a_customer_chosen_through_an_ambiguous_identifier_says_so(order, officer):
    order = scope_from_matches(order, actor=officer, choices=[CustomerChoice("store:4")])
    [item] = order.scope_items.all()
    assert item.match_evidence[0]["ambiguous"] == "yes"


def test_third_party_data_is_scoped_only_with_a_justification(order, officer):
    order = scope_from_matches(
        order,
        actor=officer,
        choices=[CustomerChoice("store:1")],
        third_party_justification="The court names the recipient",
    )
    assert DataCategory.THIRD_PARTY_RECIPIENT in order.scope_items.get().categories
    assert order.third_party_justification == "The court names the recipient"


def test_a_customer_no_identifier_matched_cannot_be_scoped(order, officer):
    with pytest.raises(InvalidInput, match="not matched by any identifier"):
        scope_from_matches(order, actor=officer, choices=[CustomerChoice("store:9")])
    assert not order.scope_items.exists()


def test_a_scope_wider_than_the_order_is_refused_at_submission(order, officer):
    order = scope_from_matches(
        order,
        actor=officer,
        choices=[CustomerChoice("store:1", date_from=order.requested_from - dt.timedelta(days=1))],
    )
    with pytest.raises(ConditionsUnmet):
        svc.submit_scope(order, actor=officer)
    with pytest.raises(InvalidInput, match="Credentials"):
        scope_from_matches(
            order, actor=officer, choices=[CustomerChoice("store:1", categories=["credential"])]
        )


def test_only_a_scoping_officer_may_match(order, outsider, auditor):
    for user in (outsider, auditor):
        with pytest.raises(NotPermitted):
            match_order(order, actor=user)


def test_matching_is_only_possible_while_scoping(store, officer):
    received = make_order("received", officer=officer)
    with pytest.raises(WrongState):
        match_order(received, actor=officer)

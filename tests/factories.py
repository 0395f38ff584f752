"""factory_boy factories, and ``make_order``, which drives a real order through the real
services into any state (so that its audit history is the one production would have)."""

import datetime as dt
from typing import Any

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from requests_portal.models import User
from workflow.choices import AuthorityKind, DataCategory, InstrumentType, NoticeRule, Outcome, VerificationItem
from workflow.models import Authority, AuthorityContact, AuthorityInstrument, DisclosureOrder, DisclosureState
from workflow.services import disclosure as svc

S = DisclosureState


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@store.example")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        if create and extracted:
            self.groups.set([Group.objects.get(name=extracted)])
        if create:
            self.save()


class AuthorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Authority
        skip_postgeneration_save = True

    name_fa = factory.Sequence(lambda n: f"شعبه {n} دادگاه عمومی تهران")
    name_en = factory.Sequence(lambda n: f"Tehran General Court, Branch {n}")
    kind = AuthorityKind.COURT
    jurisdiction = "Tehran"

    @factory.post_generation
    def instruments(self, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        if not create:
            return
        for instrument in extracted or [InstrumentType.COURT_ORDER, InstrumentType.EMERGENCY_REQUEST,
                                        InstrumentType.PRESERVATION_ORDER]:
            AuthorityInstrument.objects.create(authority=self, instrument=instrument)
        AuthorityContact.objects.create(
            authority=self, channel="phone", value="+982100000000", source="the judiciary's public directory"
        )


def intake(authority: Authority, **overrides: Any) -> svc.Intake:
    today = timezone.localdate()
    values: dict[str, Any] = {
        "authority": authority,
        "instrument": InstrumentType.COURT_ORDER,
        "authority_reference": "9903-1402-123",
        "issued_on": today - dt.timedelta(days=3),
        "received_on": today - dt.timedelta(days=1),
        "due_on": today + dt.timedelta(days=10),
        "categories": [DataCategory.IDENTITY, DataCategory.ORDER, DataCategory.CONTACT],
        "requested_from": dt.date(2024, 1, 1),
        "requested_to": dt.date(2024, 12, 31),
        "identifiers": [("national_id", "0499370899"), ("mobile", "09121234567")],
        "notice_rule": NoticeRule.NOTIFY,
    }
    values.update(overrides)
    return svc.Intake(**values)


def pass_checklist(order: DisclosureOrder, officer: User) -> DisclosureOrder:
    contact = order.authority.contacts.first()
    assert contact is not None
    details = {
        VerificationItem.AUTHENTICITY_CONFIRMED: {
            "contact_id": str(contact.pk),
            "spoke_with": "the branch clerk",
            "called_at": timezone.now().isoformat(),
        }
    }
    for item in VerificationItem.values:
        order = svc.record_check(
            order, actor=officer, item=item, passed=True, note="Article 104 of the Code", details=details.get(item)
        )
    return order


def default_scope(order: DisclosureOrder) -> list[svc.ScopeLine]:
    return [
        svc.ScopeLine(
            customer_key="store:1",
            categories=[DataCategory.IDENTITY, DataCategory.ORDER],
            date_from=order.requested_from,
            date_to=order.requested_to,
            match_evidence=[{"identifier": "national_id", "column": "customers.national_id"}],
        )
    ]


# The path from intake to each state, as (state reached, step).
def make_order(
    state: str,
    *,
    officer: User,
    approver: User | None = None,
    authority: Authority | None = None,
    **intake_overrides: Any,
) -> DisclosureOrder:
    """An order in ``state``, taken there through the services by ``officer`` (who verifies and
    scopes) and ``approver`` (who approves and releases)."""
    authority = authority or AuthorityFactory()
    order = svc.register_order(intake(authority, **intake_overrides), actor=officer)
    if state == S.RECEIVED:
        return order
    order = svc.start_verification(order, actor=officer)
    if state == S.VERIFYING:
        return order
    if state == S.CLARIFICATION_REQUESTED:
        return svc.request_clarification(order, actor=officer, question="Which account is meant?")
    if state == S.REJECTED:
        return svc.reject(order, actor=officer, code="overbroad", letter="The demand exceeds the order.")
    if state == S.WITHDRAWN:
        return svc.withdraw(order, actor=officer, reason="The court withdrew its order.")
    order = pass_checklist(order, officer)
    order = svc.verify(order, actor=officer)
    if state == S.SCOPING:
        return order
    order = svc.set_scope(order, actor=officer, lines=default_scope(order))
    order = svc.submit_scope(order, actor=officer)
    if state == S.AWAITING_APPROVAL:
        return order
    assert approver is not None, "states past approval need an approver"
    order = svc.approve_scope(order, actor=approver)
    if state == S.EXPORTING:
        return order
    if state == S.EXPORT_FAILED:
        return svc.mark_export_failed(order, error="the store database is unreachable")
    from tests.packages import complete_export  # a stored package, as release seals one

    order = complete_export(order)
    if state == S.PACKAGE_READY:
        return order
    order = svc.release(order, actor=approver)
    if state == S.RELEASED:
        return order
    order = svc.record_delivery(
        order,
        actor=officer,
        method="in_person",
        recipient="The court's registry clerk",
        delivered_at=timezone.now(),
        proof="Signed receipt no. 42",
    )
    if state == S.DELIVERED:
        return order
    order = svc.close(order, actor=officer, outcome=Outcome.FULFILLED)
    assert state == S.CLOSED, f"unknown state {state}"
    return order


def sign_in_staff(client: Any, user: User) -> None:
    """Sign ``user`` in on the test ``client`` with both factors passed (password and TOTP), as
    the staff sign-in leaves a session; staff pages refuse a session without the second."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from requests_portal.accounts.totp import device_of, ensure_totp_device

    ensure_totp_device(user)
    device = device_of(user)
    assert device is not None
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

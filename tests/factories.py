"""factory_boy factories, and ``make_order``, which drives a real order through the real
services into any state (so that its audit history is the one production would have)."""

from typing import Any

import factory
from django.contrib.auth.models import Group

from requests_portal.models import User
from workflow.choices import AuthorityKind, InstrumentType
from workflow.demo import default_scope, drive_order, intake, pass_checklist
from workflow.models import Authority, AuthorityContact, AuthorityInstrument, DisclosureOrder


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
        for instrument in extracted or [
            InstrumentType.COURT_ORDER,
            InstrumentType.EMERGENCY_REQUEST,
            InstrumentType.PRESERVATION_ORDER,
        ]:
            AuthorityInstrument.objects.create(authority=self, instrument=instrument)
        AuthorityContact.objects.create(
            authority=self, channel="phone", value="+982100000000", source="the judiciary's public directory"
        )


def make_order(
    state: str,
    *,
    officer: User,
    approver: User | None = None,
    authority: Authority | None = None,
    **overrides: Any,
) -> DisclosureOrder:
    """An order in ``state``, taken there through the real services (see workflow.demo)."""
    from tests.packages import complete_export  # a stored package: release seals a real one

    overrides.setdefault("export", complete_export)
    return drive_order(
        state, officer=officer, approver=approver, authority=authority or AuthorityFactory(), **overrides
    )


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


__all__ = [
    "AuthorityFactory",
    "UserFactory",
    "default_scope",
    "intake",
    "make_order",
    "pass_checklist",
    "sign_in_staff",
]

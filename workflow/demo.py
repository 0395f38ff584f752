"""Demo data: the authorities registry, staff of every role, and orders in every state,
each taken there through the real services so that its audit history is genuine.

Used by ``manage.py seed_demo`` and by the tests' ``make_order``.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from requests_portal.roles import Role
from workflow.choices import (
    AuthorityKind,
    DataCategory,
    InstrumentType,
    NoticeRule,
    Outcome,
    VerificationItem,
)
from workflow.models import Authority, AuthorityContact, AuthorityInstrument, DisclosureOrder, DisclosureState
from workflow.services import disclosure as svc

S = DisclosureState
I = InstrumentType  # noqa: E741

# (Persian name, English name, kind, jurisdiction, instruments, independently sourced phone)
AUTHORITIES: list[tuple[str, str, str, str, list[str], str]] = [
    (
        "شعبه ۱۰۲ دادگاه کیفری دو تهران",
        "Tehran Criminal Court Two, Branch 102",
        AuthorityKind.COURT,
        "Tehran",
        [I.COURT_ORDER, I.JUDICIAL_WARRANT, I.PRESERVATION_ORDER, I.EMERGENCY_REQUEST],
        "+982166390000",
    ),
    (
        "شعبه ۱۲ دادگاه عمومی حقوقی اصفهان",
        "Isfahan General Civil Court, Branch 12",
        AuthorityKind.COURT,
        "Isfahan",
        [I.COURT_ORDER, I.PRESERVATION_ORDER],
        "+983132210000",
    ),
    (
        "دادسرای عمومی و انقلاب ناحیه ۷ تهران",
        "Public and Revolutionary Prosecutor's Office, District 7, Tehran",
        AuthorityKind.PROSECUTOR,
        "Tehran",
        [I.PROSECUTOR_ORDER, I.PRESERVATION_ORDER, I.EMERGENCY_REQUEST],
        "+982177500000",
    ),
    (
        "دادسرای ویژه رسیدگی به جرائم رایانه‌ای تهران",
        "Tehran Prosecutor's Office for Computer Crimes",
        AuthorityKind.PROSECUTOR,
        "Tehran",
        [I.PROSECUTOR_ORDER, I.PRESERVATION_ORDER, I.EMERGENCY_REQUEST],
        "+982188900000",
    ),
    (
        "پلیس فضای تولید و تبادل اطلاعات (فتا)",
        "FATA Cyber Police",
        AuthorityKind.POLICE,
        "National",
        [I.POLICE_REQUEST, I.EMERGENCY_REQUEST],
        "+982196380000",
    ),
    (
        "سازمان حمایت مصرف‌کنندگان و تولیدکنندگان",
        "Consumer and Producer Protection Organisation",
        AuthorityKind.REGULATOR,
        "National",
        [I.REGULATOR_DEMAND],
        "+982188930000",
    ),
    (
        "سازمان تنظیم مقررات و ارتباطات رادیویی",
        "Communications Regulatory Authority",
        AuthorityKind.REGULATOR,
        "National",
        [I.REGULATOR_DEMAND],
        "+982188460000",
    ),
]

DEMO_PASSWORD = "demo-portal-2026"  # noqa: S105  (printed by seed_demo; demo users only)


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    first_name: str
    last_name: str


DEMO_USERS = [
    DemoUser("officer", Role.LEGAL_OFFICER, "Sara", "Rahimi"),
    DemoUser("officer2", Role.LEGAL_OFFICER, "Reza", "Karimi"),
    DemoUser("approver", Role.APPROVER, "Maryam", "Hosseini"),
    DemoUser("approver2", Role.APPROVER, "Ali", "Moradi"),
    DemoUser("auditor", Role.AUDITOR, "Nasrin", "Ahmadi"),
    DemoUser("admin", Role.ADMINISTRATOR, "Hamid", "Jafari"),
]


def ensure_authorities() -> list[Authority]:
    authorities = []
    for name_fa, name_en, kind, jurisdiction, instruments, phone in AUTHORITIES:
        authority, created = Authority.objects.get_or_create(
            name_en=name_en, jurisdiction=jurisdiction, defaults={"name_fa": name_fa, "kind": kind}
        )
        if created:
            for instrument in instruments:
                AuthorityInstrument.objects.create(authority=authority, instrument=instrument)
            AuthorityContact.objects.create(
                authority=authority,
                channel=AuthorityContact.Channel.PHONE,
                value=phone,
                source="The judiciary's official directory, checked by the legal team",
                checked_on=dt.date(2026, 10, 1),
            )
        authorities.append(authority)
    return authorities


def ensure_users() -> dict[str, Any]:
    User = get_user_model()
    users = {}
    for demo in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=demo.username,
            defaults={
                "first_name": demo.first_name,
                "last_name": demo.last_name,
                "email": f"{demo.username}@legal.store.example",
                "is_staff": demo.role == Role.ADMINISTRATOR,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.set([Group.objects.get(name=demo.role)])
        users[demo.username] = user
    return users


def intake(authority: Authority, **overrides: Any) -> svc.Intake:
    today = timezone.localdate()
    values: dict[str, Any] = {
        "authority": authority,
        "instrument": authority.instruments.exclude(instrument=I.PRESERVATION_ORDER).first().instrument,  # type: ignore[union-attr]
        "authority_reference": "9903-1402-123",
        "issued_on": today - dt.timedelta(days=3),
        "received_on": today - dt.timedelta(days=1),
        "due_on": today + dt.timedelta(days=10),
        "categories": [DataCategory.IDENTITY, DataCategory.ORDER, DataCategory.CONTACT],
        "requested_from": dt.date(2024, 1, 1),
        "requested_to": dt.date(2024, 12, 31),
        # Persona 1 of the demo store (workflow.store): the demo orders find a real customer.
        "identifiers": [("national_id", "0012345679"), ("mobile", "09121234567")],
        "notice_rule": NoticeRule.NOTIFY,
    }
    values.update(overrides)
    return svc.Intake(**values)


# What officers type into the demo orders' free-text fields, in the order's own language (a Persian
# order's clarification question, delivery proof… read as a Persian legal desk would write them).
DEMO_TEXT: dict[str, dict[str, str]] = {
    "fa": {
        "spoke_with": "کارمند دفتر شعبه",
        "check_note": "ماده ۱۰۴ قانون آیین دادرسی کیفری",
        "question": "منظور کدام حساب کاربری است؟ لطفاً شماره سفارش یا نشانی ایمیل را اعلام فرمایید.",
        "reject": "درخواست از حدود دستور قضایی فراتر است.",
        "withdraw": "مرجع صادرکننده دستور خود را پس گرفت.",
        "export_error": "پایگاه داده فروشگاه پاسخ نداد.",
        "recipient": "کارمند دفتر شعبه دادگاه",
        "proof": "رسید امضاشده شماره ۴۲",
    },
    "en": {
        "spoke_with": "the branch clerk",
        "check_note": "Article 104 of the Code of Criminal Procedure",
        "question": "Which account is meant? Please give an order number or an e-mail address.",
        "reject": "The demand exceeds the order.",
        "withdraw": "The authority withdrew its order.",
        "export_error": "The store database did not answer.",
        "recipient": "The court's registry clerk",
        "proof": "Signed receipt no. 42",
    },
}


def demo_text(order: DisclosureOrder, key: str) -> str:
    return DEMO_TEXT.get(order.language, DEMO_TEXT["en"])[key]


def pass_checklist(order: DisclosureOrder, officer: Any) -> DisclosureOrder:
    contact = order.authority.contacts.first()
    assert contact is not None
    details: dict[str, dict[str, str]] = {
        VerificationItem.AUTHENTICITY_CONFIRMED: {
            "contact_id": str(contact.pk),
            "spoke_with": demo_text(order, "spoke_with"),
            "called_at": timezone.now().isoformat(),
        }
    }
    for item in VerificationItem.values:
        order = svc.record_check(
            order,
            actor=officer,
            item=item,
            passed=True,
            note=demo_text(order, "check_note"),
            details=details.get(item),
        )
    return order


def default_scope(order: DisclosureOrder) -> list[svc.ScopeLine]:
    return [
        svc.ScopeLine(
            customer_key="store:1",
            categories=[
                c for c in (DataCategory.IDENTITY, DataCategory.ORDER) if c in order.categories_requested
            ],
            date_from=order.requested_from,
            date_to=order.requested_to,
            match_evidence=[{"identifier": "national_id", "column": "customers.national_id"}],
        )
    ]


def scope_from_store(order: DisclosureOrder, officer: Any) -> DisclosureOrder:
    """Scope the first customer the demo store matches, with the matching's real evidence."""
    from workflow.services.scoping import CustomerChoice, match_order, scope_from_matches

    report = match_order(order, actor=officer)
    if not report.customers:
        raise ValueError("the demo store has no customer matching the order's identifiers; run seed_store")
    choice = CustomerChoice(report.customers[0].customer_key)
    return scope_from_matches(order, actor=officer, choices=[choice], report=report)


def scope_by_hand(order: DisclosureOrder, officer: Any) -> DisclosureOrder:
    return svc.set_scope(order, actor=officer, lines=default_scope(order))


def _recorded_export(order: DisclosureOrder) -> DisclosureOrder:
    """The package pipeline, run in this process (release seals a real, stored package)."""
    from workflow.package.build import build_now

    return build_now(order)


def drive_order(
    state: str,
    *,
    officer: Any,
    approver: Any = None,
    authority: Authority,
    scope: Callable[[DisclosureOrder, Any], DisclosureOrder] = scope_by_hand,
    export: Callable[[DisclosureOrder], DisclosureOrder] = _recorded_export,
    **intake_overrides: Any,
) -> DisclosureOrder:
    """An order in ``state``, taken there through the services: ``officer`` registers,
    verifies and scopes; ``approver`` approves and releases; ``export`` stands for the
    package pipeline between approval and ``package_ready``."""
    order = svc.register_order(intake(authority, **intake_overrides), actor=officer)
    if state == S.RECEIVED:
        return order
    order = svc.start_verification(order, actor=officer)
    if state == S.VERIFYING:
        return order
    if state == S.CLARIFICATION_REQUESTED:
        return svc.request_clarification(order, actor=officer, question=demo_text(order, "question"))
    if state == S.REJECTED:
        return svc.reject(order, actor=officer, code="overbroad", letter=demo_text(order, "reject"))
    if state == S.WITHDRAWN:
        return svc.withdraw(order, actor=officer, reason=demo_text(order, "withdraw"))
    order = pass_checklist(order, officer)
    order = svc.verify(order, actor=officer)
    if state == S.SCOPING:
        return order
    order = scope(order, officer)
    order = svc.submit_scope(order, actor=officer)
    if state == S.AWAITING_APPROVAL:
        return order
    if approver is None:
        raise ValueError("states past approval need an approver")
    order = svc.approve_scope(order, actor=approver)
    if state == S.EXPORTING:
        return order
    if state == S.EXPORT_FAILED:
        return svc.mark_export_failed(order, error=demo_text(order, "export_error"))
    order = export(order)
    if state == S.PACKAGE_READY:
        return order
    order = svc.release(order, actor=approver)
    if state == S.RELEASED:
        return order
    order = svc.record_delivery(
        order,
        actor=officer,
        method="in_person",
        recipient=demo_text(order, "recipient"),
        delivered_at=timezone.now(),
        proof=demo_text(order, "proof"),
    )
    if state == S.DELIVERED:
        return order
    order = svc.close(order, actor=officer, outcome=Outcome.FULFILLED)
    if state != S.CLOSED:
        raise ValueError(f"unknown state {state}")
    return order


# One demo order per state, with variety: (state, authority index, overrides)
DEMO_ORDERS: list[tuple[str, int, dict[str, Any]]] = [
    (S.RECEIVED, 0, {"authority_reference": "DEMO-141-0001"}),
    (S.VERIFYING, 2, {"authority_reference": "DEMO-141-0002", "emergency": True}),
    (S.CLARIFICATION_REQUESTED, 1, {"authority_reference": "DEMO-141-0003"}),
    (S.REJECTED, 4, {"authority_reference": "DEMO-141-0004"}),
    (S.SCOPING, 3, {"authority_reference": "DEMO-141-0005", "notice_rule": NoticeRule.WITHHOLD_UNTIL_LIFTED}),
    (S.AWAITING_APPROVAL, 0, {"authority_reference": "DEMO-141-0006", "language": "en"}),
    (S.EXPORTING, 5, {"authority_reference": "DEMO-141-0007"}),
    (S.EXPORT_FAILED, 2, {"authority_reference": "DEMO-141-0008"}),
    (S.PACKAGE_READY, 0, {"authority_reference": "DEMO-141-0009"}),
    (S.RELEASED, 1, {"authority_reference": "DEMO-141-0010", "language": "en"}),
    (S.DELIVERED, 3, {"authority_reference": "DEMO-141-0011"}),
    (S.CLOSED, 0, {"authority_reference": "DEMO-141-0012"}),
    (S.WITHDRAWN, 6, {"authority_reference": "DEMO-141-0013"}),
]


def ensure_demo_orders(users: dict[str, Any], authorities: list[Authority], **drive_options: Any) -> int:
    """Create the demo orders that do not exist yet; returns how many were made."""
    made = 0
    for state, authority_index, overrides in DEMO_ORDERS:
        if DisclosureOrder.objects.filter(authority_reference=overrides["authority_reference"]).exists():
            continue
        with transaction.atomic():
            drive_order(
                state,
                officer=users["officer"],
                approver=users["approver"],
                authority=authorities[authority_index],
                **{"scope": scope_from_store, **drive_options},
                **overrides,
            )
        made += 1
    return made

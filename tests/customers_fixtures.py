"""Fixtures of the customer side: an in-memory store behind ``workflow.customer_store``, eager
Celery, and signed-in customers. Import the fixtures a module needs from here."""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from requests_portal.celery import app as celery_app
from workflow import customer_store
from workflow.notify.sms import LocmemSms


@dataclass
class FakeCustomer:
    email: str
    mobile: str
    fields: dict[str, str]
    categories: dict[str, int]
    marketing: dict[str, bool] = field(default_factory=lambda: {"email": True, "sms": True})


class FakeStore:
    """What the data map's primitives do, against dictionaries."""

    def __init__(self) -> None:
        self.customers: dict[str, FakeCustomer] = {}
        self.erased: list[tuple[str, str]] = []
        self.rectified: list[tuple[str, str, str]] = []

    def add(self, key: str, *, email: str, mobile: str, name: str = "مریم رضایی") -> FakeCustomer:
        self.customers[key] = FakeCustomer(
            email=email,
            mobile=mobile,
            fields={"identity.full_name": name, "address.postal_code": "1411713111"},
            categories={
                "identity": 1,
                "contact": 1,
                "address": 2,
                "order": 3,
                "invoice": 3,
                "review": 2,
                "network_activity": 10,
                "marketing_consent": 1,
            },
        )
        return self.customers[key]

    def find_customer(self, kind: str, value: str) -> str | None:
        for key, customer in self.customers.items():
            if getattr(customer, kind) == value:
                return key
        return None

    def contacts(self, key: str) -> dict[str, str]:
        customer = self.customers[key]
        return {"email": customer.email, "mobile": customer.mobile}

    def rectifiable_fields(self, key: str) -> dict[str, str]:
        return dict(self.customers[key].fields)

    def rectify(self, key: str, name: str, value: str) -> tuple[str, str]:
        before = self.customers[key].fields[name]
        self.customers[key].fields[name] = value
        self.rectified.append((key, name, value))
        return before, value

    def erase_category(self, key: str, category: str) -> int:
        rows = self.customers[key].categories.pop(category, 0)
        self.erased.append((key, category))
        return rows

    def marketing_off(self, key: str) -> int:
        flags = self.customers[key].marketing
        changed = sum(1 for on in flags.values() if on)
        for channel in flags:
            flags[channel] = False
        return changed

    def retained_categories(self, key: str) -> dict[str, str]:
        return {}

    def erasable_categories(self, key: str) -> list[str]:
        return sorted(self.customers[key].categories)

    def identifiers_naming(self, key: str, identifiers: Any) -> set[tuple[str, str]]:
        customer = self.customers[key]
        return {(kind, value) for kind, value in identifiers if getattr(customer, kind, None) == value}


@pytest.fixture
def fake_store(monkeypatch: pytest.MonkeyPatch) -> FakeStore:
    store = FakeStore()
    store.add("store:1", email="maryam@example.ir", mobile="+989121234567")
    store.add("store:2", email="reza@example.ir", mobile="+989351112233", name="رضا احمدی")
    for name in (
        "find_customer",
        "contacts",
        "rectifiable_fields",
        "rectify",
        "erase_category",
        "marketing_off",
        "erasable_categories",
        "retained_categories",
        "identifiers_naming",
    ):
        monkeypatch.setattr(customer_store, name, getattr(store, name))
    return store


@pytest.fixture
def eager_celery(settings: Any) -> Iterator[None]:
    """Tasks run in-process as they are enqueued; on-commit callbacks run (see ``run_on_commit``)."""
    settings.PORTAL_SMS_BACKEND = "workflow.notify.sms.LocmemSms"
    LocmemSms.outbox.clear()
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False
    LocmemSms.outbox.clear()


def sms_codes() -> list[str]:
    return [re.findall(r"\b\d{6}\b", msg["body"])[0] for msg in LocmemSms.outbox]


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks: Any, eager_celery: None) -> Any:
    """Use as ``with run_on_commit():`` around a call whose on-commit work must happen."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def place_hold(
    *, officer: Any, approver: Any, authority: Any, customer_keys: list[str], days: int = 90
) -> Any:
    """A preservation order holding ``customer_keys``, placed through the real services."""
    import datetime as dt

    from django.utils import timezone

    from workflow.services import preservation

    order = preservation.register_preservation(
        actor=officer,
        authority=authority,
        authority_reference="PRES-1403-77",
        issued_on=timezone.localdate(),
        received_on=timezone.localdate(),
        identifiers=[("mobile", "09121234567")],
        hold_expires_on=timezone.localdate() + dt.timedelta(days=days),
    )
    order = preservation.start_verification(order, actor=officer)
    order = preservation.verify(order, actor=officer, customer_keys=customer_keys)
    return preservation.place_hold(order, actor=approver)


@pytest.fixture
def english() -> Iterator[None]:
    """Messages in English (the default language is Persian), for tests that match their words."""
    from django.utils import translation

    with translation.override("en"):
        yield

"""The disclosure ledger: what a customer may see of the disclosures made about them (DESIGN §5).

This is the one gate between disclosure orders and customers. An order is in a customer's
ledger when it was released to the authority (released, delivered or closed), the customer is
in its scope, and no non-disclosure order withholds notice today. Anything else — orders still
in preparation, withheld orders, preservation orders (never disclosed, and by law never told
while they stand) — is simply absent: the ledger has no counts, placeholders or gaps that
would let a customer infer a hidden order.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from workflow.models import DisclosureOrder, DisclosureState, ScopeItem
from workflow.package.wording import category_label, instrument_label

S = DisclosureState
DISCLOSED_STATES = (S.RELEASED, S.DELIVERED, S.CLOSED)


@dataclass(frozen=True)
class LedgerEntry:
    """One disclosure, in the words a customer reads."""

    order_reference: str
    authority_fa: str
    authority_en: str
    instrument: str
    authority_reference: str
    disclosed_on: dt.date
    categories: tuple[str, ...]
    language: str = "fa"

    @property
    def authority_name(self) -> str:
        return self.authority_fa if self.language == "fa" else self.authority_en

    @property
    def instrument_label(self) -> str:
        return instrument_label(self.instrument, self.language)

    @property
    def category_labels(self) -> list[str]:
        return [category_label(c, self.language) for c in self.categories]


def _disclosed_to_customer(customer_key: str) -> QuerySet[DisclosureOrder]:
    # The customer's own scope line comes with each order in one query: the work done per order
    # is the same whether its notice is withheld or not, so the page's timing says nothing.
    own_line = Prefetch(
        "scope_items", queryset=ScopeItem.objects.filter(customer_key=customer_key), to_attr="own"
    )
    return (
        DisclosureOrder.objects.filter(state__in=DISCLOSED_STATES, scope_items__customer_key=customer_key)
        .select_related("authority")
        .prefetch_related(own_line)
        .distinct()
    )


def visible_orders(customer_key: str, *, today: dt.date | None = None) -> Iterator[DisclosureOrder]:
    """The disclosure orders the customer may be told of today."""
    today = today or timezone.localdate()
    for order in _disclosed_to_customer(customer_key).order_by("released_at", "id"):
        if not order.notice_withheld(today):
            yield order


def ledger_for(customer_key: str, *, today: dt.date | None = None, language: str = "fa") -> list[LedgerEntry]:
    """The customer's ledger, oldest disclosure first, worded in ``language`` ("fa" or "en")."""
    if not customer_key:
        return []
    entries = []
    for order in visible_orders(customer_key, today=today):
        [item] = order.own  # type: ignore[attr-defined]
        released_at = order.released_at or order.updated_at
        entries.append(
            LedgerEntry(
                order_reference=order.reference,
                authority_fa=order.authority.name_fa,
                authority_en=order.authority.name_en,
                instrument=order.instrument,
                authority_reference=order.authority_reference,
                disclosed_on=timezone.localdate(released_at),
                categories=tuple(item.categories),
                language="fa" if language == "fa" else "en",
            )
        )
    return entries


def newly_visible(*, today: dt.date | None = None) -> Iterator[tuple[DisclosureOrder, str]]:
    """Every (order, customer key) a customer may now be told of: the beat job notifies each once."""
    today = today or timezone.localdate()
    orders = DisclosureOrder.objects.filter(state__in=DISCLOSED_STATES).prefetch_related("scope_items")
    for order in orders.iterator(chunk_size=200):
        if order.notice_withheld(today):
            continue
        for item in order.scope_items.all():
            yield order, item.customer_key

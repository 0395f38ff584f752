"""The customer-facing side's only door into the store's database: the data map (issue 3).

Every read and write of a customer's store data made for sign-in and data-subject requests goes
through these functions, which call the data map's primitives (``workflow.datamap.customers``);
no SQL against the store is written here. Deciding whether an action is allowed (legal hold,
retention, open orders) and auditing it is the services' job. Tests replace these functions
with an in-memory store.
"""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from workflow import datamap
from workflow.errors import InvalidInput
from workflow.identity import normalise_identifier


def find_customer(kind: str, value: str) -> str | None:
    """The customer key whose registered profile ``kind`` ("email"/"mobile") is ``value``.

    Only the customers table's own contact columns count (DESIGN §5: the profile's contacts are
    the official channels); a contact shared by two customers signs in no one. The data map is
    loaded and scanned the same way whatever the answer, so a registered identifier takes no
    longer than an unknown one (bench/customer_sign_in.py).
    """
    return datamap.find_customer_by_contact(kind, value)


def contacts(customer_key: str) -> dict[str, str]:
    """The customer's registered channels: ``{"email": …, "mobile": …}`` (either may be missing)."""
    found: dict[str, Any] = datamap.customer_contacts(customer_key) or {}
    registered = {}
    for kind in ("email", "mobile"):
        if found.get(kind):
            try:
                registered[kind] = normalise_identifier(kind, str(found[kind]))
            except InvalidInput:
                continue  # a malformed registered value is not an official channel
    return registered


def _customer_row(customer_key: str, category: str) -> dict[str, Any]:
    """The customer's own row (the customers table) of ``category``, read through the extraction."""
    from workflow.extraction import iter_rows

    source, _pk = datamap.configured_datamap().customer(customer_key)
    for row in iter_rows(customer_key, category, dt.date(1970, 1, 1), timezone.localdate()):
        if row.get("_table") == source.customer_table:
            return row
    return {}


def rectifiable_fields(customer_key: str) -> dict[str, str]:
    """``{"<table>.<column>": current value}`` of the fields of the customer's own profile row
    that the data map lets them correct. (Fields of tables with several rows per customer, such
    as addresses, need a row to be named; the request form does not offer them yet.)"""
    source, _pk = datamap.configured_datamap().customer(customer_key)
    fields: dict[str, str] = {}
    for category, policy in source.policies.items():
        own = [f for f in policy.rectifiable if f.split(".", 1)[0] == source.customer_table]
        if not own:
            continue
        row = _customer_row(customer_key, category)
        for qualified in own:
            value = row.get(qualified.split(".", 1)[1])
            fields[qualified] = "" if value is None else str(value)
    return fields


def rectify(customer_key: str, field: str, value: str) -> tuple[str, str]:
    """Apply one correction; returns the (before, after) values as the store holds them."""
    done = datamap.rectify(customer_key, field, value)
    return ("" if done.before is None else str(done.before)), ("" if done.after is None else str(done.after))


def erase_category(customer_key: str, category: str) -> int:
    """Erase or anonymise one category per the data map's erasure method; returns rows touched."""
    return datamap.erase_category(customer_key, category).rows


def marketing_off(customer_key: str) -> int:
    """Switch every marketing-consent flag of the customer off; returns rows touched."""
    return datamap.opt_out_of_marketing(customer_key)


def erasable_categories(customer_key: str) -> list[str]:
    """The categories the data map says how to erase (or keeps by law) for this customer."""
    source, _pk = datamap.configured_datamap().customer(customer_key)
    return sorted(c for c, policy in source.policies.items() if policy.erasure is not None)


def retained_categories(customer_key: str) -> dict[str, str]:
    """Categories the data map marks ``retain`` for this customer's source, with the reason the
    customer is told (e.g. invoices kept under tax law)."""
    source, _pk = datamap.configured_datamap().customer(customer_key)
    return {
        category: policy.erasure.reason
        for category, policy in source.policies.items()
        if policy.erasure is not None and policy.erasure.method == "retain"
    }


def identifiers_naming(customer_key: str, identifiers: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of the (kind, normalised value) ``identifiers`` name this customer, by the same
    matching an officer's scoping uses (``workflow.matching``, through the data map)."""
    from workflow.matching import match_identifiers

    wanted = list(identifiers)
    if not wanted:
        return set()
    report = match_identifiers(wanted)
    return next((c.identifiers for c in report.customers if c.customer_key == customer_key), set())

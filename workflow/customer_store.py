"""The customer-facing side's only door into the store's database: the data map (issue 3).

Every read and write of a customer's store data made for sign-in and data-subject requests goes
through these functions, which call the data map's primitives; no SQL against the store is
written here. Tests replace this module's functions with an in-memory store.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from workflow.errors import DomainError, InvalidInput
from workflow.identity import normalise_identifier


def find_customer(kind: str, value: str) -> str | None:
    """The customer key whose registered ``kind`` ("email"/"mobile") is ``value`` (normalised).

    Only the customers table's own contact columns count (the registered profile, DESIGN §5),
    not, say, a recipient's phone typed on an order; an identifier shared by two customers
    signs in no one.
    """
    from workflow import datamap

    find_by_contact = getattr(datamap, "find_customer_by_contact", None)
    if find_by_contact is not None:
        found: str | None = find_by_contact(kind, value)
        return found
    # Until the data map offers the lookup itself, its identity matching answers it. The map is
    # loaded once whatever the answer, so that a registered identifier costs no more time than
    # an unknown one (the sign-in answer must not tell them apart, not even by its timing).
    from workflow.matching import match_identifiers

    loaded = datamap.configured_datamap()
    customer_tables = {name: source.customer_table for name, source in loaded.sources.items()}
    report = match_identifiers([(kind, value)], datamap=loaded)
    keys = {
        evidence.customer_key
        for match in report.identifiers
        for evidence in match.evidence
        if evidence.table == customer_tables.get(evidence.source)
    }
    return keys.pop() if len(keys) == 1 else None


def retained_categories(customer_key: str) -> dict[str, str]:
    """Categories the data map marks ``retain`` for this customer's source, with the reason the
    customer is told (e.g. invoices kept under tax law)."""
    from workflow.datamap import configured_datamap

    source, _pk = configured_datamap().customer(customer_key)
    return {
        category: policy.erasure.reason
        for category, policy in source.policies.items()
        if policy.erasure is not None and policy.erasure.method == "retain"
    }


def _primitive(name: str) -> Callable[..., Any]:
    """The data map's write primitive ``name`` (issue 3), or a clear refusal while it is missing."""
    from workflow import datamap

    found = getattr(datamap, name, None)
    if found is None:
        raise StoreActionUnavailable(
            _("The store cannot be changed from the portal yet: its data map offers no “%(name)s”.")
            % {"name": name}
        )
    return found


class StoreActionUnavailable(DomainError):
    code = "store_unavailable"
    http_status = 503


def _customer_row(customer_key: str, category: str) -> dict[str, Any]:
    """The customer's own row (the customers table) of ``category``, read through the extraction."""
    from workflow.datamap import configured_datamap
    from workflow.extraction import iter_rows

    source, _pk = configured_datamap().customer(customer_key)
    for row in iter_rows(customer_key, category, dt.date(1970, 1, 1), timezone.localdate()):
        if row.get("_table") == source.customer_table:
            return row
    return {}


def contacts(customer_key: str) -> dict[str, str]:
    """The customer's registered channels: ``{"email": …, "mobile": …}`` (either may be missing)."""
    from workflow import datamap

    lookup = getattr(datamap, "customer_contacts", None)
    if lookup is not None:
        found: dict[str, Any] = lookup(customer_key) or {}
    else:
        source, _pk = datamap.configured_datamap().customer(customer_key)
        root = source.root
        row = _customer_row(customer_key, "contact")
        found = {kind: row.get(columns[0]) for kind, columns in root.identifiers.items() if columns}
    registered = {}
    for kind in ("email", "mobile"):
        if found.get(kind):
            try:
                registered[kind] = normalise_identifier(kind, str(found[kind]))
            except InvalidInput:
                continue  # a malformed registered value is not an official channel
    return registered


def rectifiable_fields(customer_key: str) -> dict[str, str]:
    """``{"<table>.<column>": current value}`` of the fields the data map lets a customer correct."""
    from workflow import datamap

    lookup = getattr(datamap, "rectifiable_fields", None)
    if lookup is not None:
        return {str(k): "" if v is None else str(v) for k, v in dict(lookup(customer_key)).items()}
    # Until the map offers it: the customer's own row's rectifiable columns (one value each).
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
    before, after = _primitive("rectify_field")(customer_key, field, value)
    return str(before), str(after)


def erase_category(customer_key: str, category: str) -> int:
    """Erase or anonymise one category per the data map's erasure method; returns rows touched."""
    return int(_primitive("erase_category")(customer_key, category))


def marketing_off(customer_key: str) -> int:
    """Switch every marketing-consent flag of the customer off; returns rows touched."""
    return int(_primitive("withdraw_marketing_consent")(customer_key))


def erasable_categories(customer_key: str) -> list[str]:
    """The categories the data map knows how to erase (or keeps by law) for this customer."""
    from workflow.datamap import configured_datamap

    source, _pk = configured_datamap().customer(customer_key)
    return sorted(c for c, policy in source.policies.items() if policy.erasure is not None)

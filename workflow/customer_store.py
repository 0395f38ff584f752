"""The customer-facing side's only door into the store's database: the data map (issue 3).

Every read and write of a customer's store data made for sign-in and data-subject requests goes
through these functions, which call the data map's primitives; no SQL against the store is
written here. Tests replace this module's functions with an in-memory store.
"""

from typing import Any


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
    # Until the data map offers the lookup itself, its identity matching answers it.
    from workflow.matching import match_identifiers

    report = match_identifiers([(kind, value)])
    keys = set()
    for match in report.identifiers:
        for evidence in match.evidence:
            source = datamap.configured_datamap().source(evidence.source)
            if evidence.table == source.customer_table:
                keys.add(evidence.customer_key)
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


def contacts(customer_key: str) -> dict[str, str]:
    """The customer's registered channels: ``{"email": …, "mobile": …}`` (either may be missing)."""
    from workflow.datamap import customer_contacts

    found: dict[str, Any] = customer_contacts(customer_key) or {}
    return {kind: str(value) for kind, value in found.items() if value and kind in ("email", "mobile")}


def rectifiable_fields(customer_key: str) -> dict[str, str]:
    """``{"<category>.<field>": current value}`` of the fields the data map lets a customer correct."""
    from workflow.datamap import rectifiable_fields as fields_of

    return dict(fields_of(customer_key))


def rectify(customer_key: str, field: str, value: str) -> tuple[str, str]:
    """Apply one correction; returns the (before, after) values as the store holds them."""
    from workflow.datamap import rectify_field

    before, after = rectify_field(customer_key, field, value)
    return str(before), str(after)


def erase_category(customer_key: str, category: str) -> int:
    """Erase or anonymise one category per the data map's erasure method; returns rows touched."""
    from workflow.datamap import erase_category as erase

    return int(erase(customer_key, category))


def marketing_off(customer_key: str) -> int:
    """Switch every marketing-consent flag of the customer off; returns rows touched."""
    from workflow.datamap import withdraw_marketing_consent

    return int(withdraw_marketing_consent(customer_key))


def erasable_categories(customer_key: str) -> list[str]:
    """The categories the data map knows how to erase for this customer's source."""
    from workflow.datamap import erasable_categories as categories_of

    return list(categories_of(customer_key))

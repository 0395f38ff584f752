"""What the portal does to one customer's data through the data map, for the customers' own
requests (DESIGN §1 data-subject requests, §5 sign-in): find a customer by their registered
contact, read those contacts, erase or anonymise a category, rectify a field, switch marketing
consent off. Each write runs in one transaction on the store: all of it happens, or none.

The callers (services of the data-subject requests) decide whether an action is allowed —
legal hold, retention, open orders — and audit it; these functions only carry it out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from workflow.choices import IdentifierKind
from workflow.errors import InvalidInput
from workflow.identity import normalise_identifier, stored_form

from .connect import StoreConnection, connect
from .model import DataMap, Source, Table
from .sql import customer_param, from_clause

SIGN_IN_KINDS = (IdentifierKind.EMAIL, IdentifierKind.MOBILE)


def _datamap(datamap: DataMap | None) -> DataMap:
    if datamap is not None:
        return datamap
    from . import configured_datamap

    return configured_datamap()


@contextmanager
def _writing(source: Source) -> Iterator[StoreConnection]:
    with connect(
        source.database_url, source_name=source.name, display_url=source.display_url, readonly=False
    ) as conn:
        try:
            yield conn
        except BaseException:
            conn.raw.rollback()
            raise
        conn.raw.commit()


def _customer_rows(source: Source, table: Table, conn: StoreConnection) -> str:
    """A sub-select of the primary keys of ``table``'s rows that belong to the customer (one
    placeholder). Wrapped in a derived table so MySQL accepts it in UPDATE/DELETE of the same table."""
    q = conn.dialect.quote
    frm, customer_column, _dated = from_clause(source, table, conn.dialect)
    inner = (
        f"SELECT t0.{q(table.primary_key)} AS pk FROM {frm} "  # noqa: S608
        f"WHERE {customer_column} = {conn.dialect.placeholder}"
    )
    return f"SELECT pk FROM ({inner}) customer_rows"  # noqa: S608


# --- Reading the registered contacts ------------------------------------------------------


def find_customer_by_contact(kind: str, value: str, *, datamap: DataMap | None = None) -> str | None:
    """The customer whose store profile registers this e-mail or mobile, for one-time-code
    sign-in; None when nobody does, or when several do (a shared contact proves no identity).
    A malformed value raises InvalidInput."""
    if kind not in SIGN_IN_KINDS:
        raise InvalidInput(_("Sign-in uses the registered e-mail address or mobile number."))
    wanted = normalise_identifier(kind, value)
    found: set[str] = set()
    for source in _datamap(datamap).sources.values():
        root = source.root
        columns = root.identifiers.get(kind, ())
        if not columns:
            continue
        from workflow.matching import scan_column

        with connect(source.database_url, source_name=source.name, display_url=source.display_url) as conn:
            for column in columns:
                for _normal, customer_pk, _row, _raw in scan_column(
                    conn, source, root, column, kind, {wanted}
                ):
                    found.add(f"{source.name}:{customer_pk}")
    return found.pop() if len(found) == 1 else None


def customer_contacts(customer_key: str, *, datamap: DataMap | None = None) -> dict[str, str | None]:
    """The registered e-mail and mobile of a customer, normalised (None when absent or invalid)."""
    source, pk = _datamap(datamap).customer(customer_key)
    root = source.root
    q_columns = {str(kind): root.identifiers.get(kind, ())[:1] for kind in SIGN_IN_KINDS}
    with connect(source.database_url, source_name=source.name, display_url=source.display_url) as conn:
        q = conn.dialect.quote
        names = [cols[0] for cols in q_columns.values() if cols]
        if not names:
            return dict.fromkeys(q_columns)
        cursor = conn.cursor()
        cursor.execute(
            f"SELECT {', '.join(q(n) for n in names)} FROM {q(root.name)} "  # noqa: S608
            f"WHERE {q(root.primary_key)} = {conn.dialect.placeholder}",
            (customer_param(pk),),
        )
        row = cursor.fetchone()
        cursor.close()
    if row is None:
        raise InvalidInput(_("The store has no customer %(key)s.") % {"key": customer_key})
    values = dict(zip(names, row, strict=True))
    return {kind: stored_form(kind, values[cols[0]]) if cols else None for kind, cols in q_columns.items()}


# --- Writing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureResult:
    category: str
    method: str  # "delete" | "anonymise" | "retain"
    rows: int  # rows deleted or anonymised (0 when retained)
    reason: str = ""  # why it is retained, as the customer is told


def erase_category(customer_key: str, category: str, *, datamap: DataMap | None = None) -> ErasureResult:
    """Erase one category of a customer's data as the map says: delete its rows, anonymise its
    columns, or retain it (nothing changes; the reason is returned)."""
    source, pk = _datamap(datamap).customer(customer_key)
    policy = source.policies.get(category)
    if policy is None or policy.erasure is None:
        raise InvalidInput(
            _("The data map says nothing about erasing “%(category)s” in “%(source)s”.")
            % {"category": category, "source": source.name}
        )
    erasure = policy.erasure
    if erasure.method == "retain":
        return ErasureResult(category, "retain", 0, erasure.reason)
    affected = 0
    with _writing(source) as conn:
        q = conn.dialect.quote
        cursor = conn.cursor()
        # Children before parents: a table joined through another goes first.
        tables = sorted(source.tables_with(category), key=lambda t: -len(source.join_chain(t)))
        for table in tables:
            rows = _customer_rows(source, table, conn)
            if erasure.method == "delete":
                cursor.execute(
                    f"DELETE FROM {q(table.name)} WHERE {q(table.primary_key)} IN ({rows})",  # noqa: S608
                    (customer_param(pk),),
                )
            else:
                replacements = {
                    qualified.split(".", 1)[1]: value
                    for qualified, value in erasure.replacements.items()
                    if qualified.split(".", 1)[0] == table.name
                }
                if not replacements:
                    continue
                assignments = ", ".join(f"{q(c)} = {conn.dialect.placeholder}" for c in replacements)
                cursor.execute(
                    f"UPDATE {q(table.name)} SET {assignments} WHERE {q(table.primary_key)} IN ({rows})",  # noqa: S608
                    (*replacements.values(), customer_param(pk)),
                )
            affected += max(cursor.rowcount, 0)
        cursor.close()
    return ErasureResult(category, erasure.method, affected)


@dataclass(frozen=True)
class Rectification:
    field: str  # "table.column"
    row: str
    before: Any
    after: Any


def rectify(
    customer_key: str, field: str, value: str, *, row: str | None = None, datamap: DataMap | None = None
) -> Rectification:
    """Set a rectifiable field (``table.column``) of the customer's row to ``value`` and return
    the value before and after. Identifier columns are validated and stored normalised. A table
    holding several rows of the customer (addresses) needs the ``row`` (its primary key)."""
    source, pk = _datamap(datamap).customer(customer_key)
    rectifiable = {name for policy in source.policies.values() for name in policy.rectifiable}
    if field not in rectifiable:
        raise InvalidInput(_("“%(field)s” may not be rectified through the data map.") % {"field": field})
    table_name, column = field.split(".", 1)
    table = source.tables[table_name]
    kinds = [kind for kind, cols in table.identifiers.items() if column in cols]
    new_value: Any = normalise_identifier(kinds[0], value) if kinds else value.strip()
    with _writing(source) as conn:
        q, ph = conn.dialect.quote, conn.dialect.placeholder
        cursor = conn.cursor()
        rows = _customer_rows(source, table, conn)
        cursor.execute(
            f"SELECT {q(table.primary_key)}, {q(column)} FROM {q(table.name)} "  # noqa: S608
            f"WHERE {q(table.primary_key)} IN ({rows})",
            (customer_param(pk),),
        )
        current = {str(r[0]): r[1] for r in cursor.fetchall()}
        if row is None:
            if len(current) != 1:
                raise InvalidInput(
                    _("The customer has %(n)d rows in “%(table)s”: say which one to rectify.")
                    % {"n": len(current), "table": table.name}
                )
            row = next(iter(current))
        if row not in current:
            raise InvalidInput(_("That row of “%(table)s” is not the customer's.") % {"table": table.name})
        cursor.execute(
            f"UPDATE {q(table.name)} SET {q(column)} = {ph} WHERE {q(table.primary_key)} = {ph}",  # noqa: S608
            (new_value, customer_param(row)),
        )
        cursor.close()
    return Rectification(field, row, current[row], new_value)


def opt_out_of_marketing(customer_key: str, *, datamap: DataMap | None = None) -> int:
    """Switch every marketing consent of the customer off (an objection takes effect at once).
    Returns the number of consent rows changed."""
    source, pk = _datamap(datamap).customer(customer_key)
    opt_out = source.marketing_opt_out
    if opt_out is None:
        raise InvalidInput(
            _("The data map of “%(source)s” does not say how to withdraw consent.") % {"source": source.name}
        )
    table = source.tables[opt_out.table]
    with _writing(source) as conn:
        q, ph = conn.dialect.quote, conn.dialect.placeholder
        cursor = conn.cursor()
        assignments = ", ".join(f"{q(c)} = {ph}" for c in opt_out.set_values)
        rows = _customer_rows(source, table, conn)
        cursor.execute(
            f"UPDATE {q(table.name)} SET {assignments} WHERE {q(table.primary_key)} IN ({rows})",  # noqa: S608
            (*opt_out.set_values.values(), customer_param(pk)),
        )
        changed = max(cursor.rowcount, 0)
        cursor.close()
    return changed

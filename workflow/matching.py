"""Identity matching: from the identifiers an order names to the store's customers.

Both sides go through ``workflow.identity``: the order's identifiers are normalised (an invalid
one — a national ID failing its check digit, a malformed phone — is reported as invalid, never
matched), and so is every value the store holds, whatever digits, letters or prefixes it was
typed with. Each match carries its evidence: which identifier matched which table and column, in
which row, stored in which form. An identifier that finds nobody is *absent*; one that finds
several customers is *ambiguous*; identifiers that point to different customers are reported as
*conflicting*. The officer decides; nothing is silently picked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from workflow.choices import IdentifierKind
from workflow.datamap import DataMap, Source, Table, configured_datamap
from workflow.datamap.connect import SourceUnavailable, StoreConnection, connect
from workflow.datamap.sql import from_clause
from workflow.errors import InvalidInput
from workflow.identity import digits_only, normalise_identifier, stored_form

FETCH_SIZE = 2000


class MatchStatus(models.TextChoices):
    MATCHED = "matched", _("Matched one customer")
    AMBIGUOUS = "ambiguous", _("Matches several customers")
    ABSENT = "absent", _("Matches no customer")
    INVALID = "invalid", _("Not a valid identifier")


@dataclass(frozen=True)
class Evidence:
    """One identifier found in one row of the store."""

    kind: str
    identifier: str  # normalised, as the order names it
    customer_key: str
    source: str
    table: str
    column: str
    row: str  # the row's primary key
    stored_as: str  # the value exactly as the store holds it

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "identifier": self.identifier,
            "source": self.source,
            "table": self.table,
            "column": self.column,
            "row": self.row,
            "stored_as": self.stored_as,
            "normalised": "no" if self.stored_as == self.identifier else "yes",
        }


@dataclass(frozen=True)
class IdentifierMatch:
    kind: str
    value: str  # as given
    normalized: str  # empty when invalid
    status: str
    customer_keys: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    problem: str = ""


@dataclass(frozen=True)
class CustomerMatch:
    customer_key: str
    evidence: tuple[Evidence, ...]

    @property
    def identifiers(self) -> set[tuple[str, str]]:
        return {(e.kind, e.identifier) for e in self.evidence}

    def evidence_dicts(self) -> list[dict[str, str]]:
        return [e.as_dict() for e in self.evidence]


@dataclass(frozen=True)
class MatchReport:
    identifiers: tuple[IdentifierMatch, ...]
    customers: tuple[CustomerMatch, ...] = field(default=())

    def with_status(self, status: str) -> list[IdentifierMatch]:
        return [m for m in self.identifiers if m.status == status]

    @property
    def conflicting(self) -> bool:
        """Identifiers that each matched one customer, but not the same one."""
        singles = {m.customer_keys[0] for m in self.with_status(MatchStatus.MATCHED)}
        return len(singles) > 1

    def customer(self, customer_key: str) -> CustomerMatch:
        for match in self.customers:
            if match.customer_key == customer_key:
                return match
        raise InvalidInput(
            _("“%(key)s” was not matched by any identifier of this order.") % {"key": customer_key}
        )


def _sql_comparable(kind: str) -> str:
    """Kinds whose normal form SQL can compute (case folding); the rest are scanned."""
    functions: dict[str, str] = {
        IdentifierKind.EMAIL: "lower",
        IdentifierKind.USERNAME: "lower",
        IdentifierKind.ORDER_NUMBER: "upper",
    }
    return functions.get(kind, "")


def _prefilter(kind: str, wanted: set[str]) -> Any:
    """A cheap test on a stored value before the full normalisation (phones are slow to parse)."""
    if kind in (IdentifierKind.MOBILE, IdentifierKind.LANDLINE):
        # "+989121234567" -> national significant number "9121234567"; any stored form ends so.
        tails = {value[3:] for value in wanted}
        return lambda raw: digits_only(raw)[-10:] in tails
    if kind == IdentifierKind.NATIONAL_ID:
        return lambda raw: digits_only(raw).zfill(10) in wanted
    return lambda raw: True


def scan_column(
    conn: StoreConnection, source: Source, table: Table, column: str, kind: str, wanted: set[str]
) -> Iterator[tuple[str, str, str, str]]:
    """(normalised value, customer pk, row pk, stored value) for rows whose value is wanted."""
    q = conn.dialect.quote
    frm, customer_column, _dated = from_clause(source, table, conn.dialect)
    target = f"t0.{q(column)}"
    sql = (
        # Identifiers are schema-checked names ([A-Za-z0-9_]); values are bound parameters.
        f"SELECT {customer_column}, t0.{q(table.primary_key)}, {target} FROM {frm} WHERE {target} IS NOT NULL"  # noqa: S608
    )
    params: list[Any] = []
    function = _sql_comparable(kind)
    if function:
        sql += f" AND {function}(TRIM({target})) IN ({', '.join([conn.dialect.placeholder] * len(wanted))})"
        params = sorted(wanted)
    prefilter = _prefilter(kind, wanted)
    cursor = conn.cursor()
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(FETCH_SIZE):
            for customer_pk, row_pk, raw in batch:
                if not prefilter(raw):
                    continue
                normal = stored_form(kind, raw)
                if normal in wanted:
                    yield normal, str(customer_pk), str(row_pk), str(raw)
    finally:
        cursor.close()


def match_identifiers(
    identifiers: Iterable[tuple[str, str]], *, datamap: DataMap | None = None
) -> MatchReport:
    """Match (kind, value) pairs against every source of the data map."""
    datamap = datamap or configured_datamap()
    pending: list[tuple[str, str, str]] = []  # kind, value, normalised
    invalid: list[IdentifierMatch] = []
    for kind, value in identifiers:
        try:
            pending.append((kind, value, normalise_identifier(kind, value)))
        except InvalidInput as err:
            invalid.append(IdentifierMatch(kind, value, "", MatchStatus.INVALID, problem=err.message))
    wanted: dict[str, set[str]] = {}
    for kind, _value, normal in pending:
        wanted.setdefault(kind, set()).add(normal)
    found: dict[tuple[str, str], list[Evidence]] = {}
    for source in datamap.sources.values():
        searches = [
            (table, column, kind)
            for table in source.tables.values()
            for kind, columns in table.identifiers.items()
            if kind in wanted
            for column in columns
        ]
        if not searches:
            continue
        with connect(source.database_url, source_name=source.name, display_url=source.display_url) as conn:
            for table, column, kind in searches:
                try:
                    hits = list(scan_column(conn, source, table, column, kind, wanted[kind]))
                except Exception as err:
                    raise SourceUnavailable(
                        _(
                            "The store source “%(source)s” could not be searched "
                            "(%(table)s.%(column)s): %(error)s"
                        )
                        % {
                            "source": source.name,
                            "table": table.name,
                            "column": column,
                            "error": str(err).splitlines()[0],
                        }
                    ) from err
                for normal, customer_pk, row_pk, raw in hits:
                    key = f"{source.name}:{customer_pk}"
                    found.setdefault((kind, normal), []).append(
                        Evidence(kind, normal, key, source.name, table.name, column, row_pk, raw)
                    )
    results: list[IdentifierMatch] = []
    by_customer: dict[str, list[Evidence]] = {}
    for kind, value, normal in pending:
        evidence = found.get((kind, normal), [])
        keys = tuple(sorted({e.customer_key for e in evidence}))
        status = (
            MatchStatus.ABSENT
            if not keys
            else MatchStatus.MATCHED
            if len(keys) == 1
            else MatchStatus.AMBIGUOUS
        )
        results.append(IdentifierMatch(kind, value, normal, status, keys, tuple(evidence)))
        for item in evidence:
            by_customer.setdefault(item.customer_key, []).append(item)
    customers = tuple(CustomerMatch(key, tuple(ev)) for key, ev in sorted(by_customer.items()))
    return MatchReport(identifiers=tuple(results + invalid), customers=customers)

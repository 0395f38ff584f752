"""What a data map says, once loaded and checked: sources, tables, joins, categories, policies."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from workflow.errors import InvalidInput


@dataclass(frozen=True)
class CustomerJoin:
    """How a table reaches its customer: ``column`` holds the customer's key (``through`` empty),
    or the key of a row of ``through``, which in turn reaches the customer."""

    column: str
    through: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    primary_key: str
    customer: CustomerJoin
    timestamp: str  # empty: the table holds current state, not dated events; no date filter
    identifiers: dict[str, tuple[str, ...]]  # identifier kind -> columns
    columns: dict[str, str]  # column -> data category

    def columns_of(self, category: str) -> list[str]:
        return [column for column, cat in self.columns.items() if cat == category]

    @property
    def categories(self) -> set[str]:
        return set(self.columns.values())


@dataclass(frozen=True)
class Erasure:
    """How a category is erased: ``delete`` its rows, ``anonymise`` (column -> replacement, keyed
    ``table.column``), or ``retain`` (kept by law; ``reason`` is what the customer is told)."""

    method: str
    replacements: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class CategoryPolicy:
    erasure: Erasure | None
    rectifiable: tuple[str, ...]  # "table.column"


@dataclass(frozen=True)
class MarketingOptOut:
    """What "consent off" means in this store: the values to set on the consent table's rows."""

    table: str
    set_values: dict[str, Any]


@dataclass(frozen=True)
class Source:
    name: str
    database_url: str  # expanded from the environment; never printed (it may hold a password)
    display_url: str  # the URL without its password, for messages
    customer_table: str
    tables: dict[str, Table]
    policies: dict[str, CategoryPolicy]
    marketing_opt_out: MarketingOptOut | None
    origin: str  # the data map file it came from

    @property
    def root(self) -> Table:
        return self.tables[self.customer_table]

    def join_chain(self, table: Table) -> list[Table]:
        """The tables from ``table`` up to (not including) the one whose column holds the customer key."""
        chain = [table]
        seen = {table.name}
        while chain[-1].customer.through:
            parent = self.tables[chain[-1].customer.through]
            if parent.name in seen:  # the validator refuses cycles; this guards direct construction
                raise InvalidInput(
                    _("The data map's joins go round in a circle at table “%(t)s”.") % {"t": parent.name}
                )
            seen.add(parent.name)
            chain.append(parent)
        return chain

    def tables_with(self, category: str) -> Iterator[Table]:
        for table in self.tables.values():
            if category in table.categories:
                yield table

    def category_columns(self, category: str) -> list[str]:
        """The union of a category's columns over the tables, in map order (the CSV header)."""
        names: list[str] = []
        for table in self.tables_with(category):
            for column in table.columns_of(category):
                if column not in names:
                    names.append(column)
        return names


@dataclass(frozen=True)
class DataMap:
    sources: dict[str, Source]

    def source(self, name: str) -> Source:
        try:
            return self.sources[name]
        except KeyError:
            raise InvalidInput(
                _("No data map describes a source named “%(name)s”.") % {"name": name}
            ) from None

    def customer(self, customer_key: str) -> tuple[Source, str]:
        """``"store:42"`` -> (the source, ``"42"``)."""
        name, sep, pk = customer_key.partition(":")
        if not sep or not pk:
            raise InvalidInput(_("“%(key)s” is not a customer key (source:id).") % {"key": customer_key})
        return self.source(name), pk

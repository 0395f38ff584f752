"""The SQL a data map implies: a table's rows for one customer (joined through its parents),
optionally within a date range, in the dialect of the source."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from .connect import POSTGRESQL, Dialect
from .model import Source, Table


@dataclass(frozen=True)
class Query:
    sql: str
    params: tuple[Any, ...]


def customer_param(pk: str) -> Any:
    # Store keys are usually integers; PostgreSQL will not compare bigint with text.
    return int(pk) if pk.isdigit() else pk


def day_bounds(dialect: Dialect, date_from: dt.date, date_to: dt.date) -> tuple[Any, Any]:
    """The range as instants: from the first day's local midnight to the midnight after the last
    day (the portal's time zone: the order's dates are the authority's calendar days)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    start = dt.datetime.combine(date_from, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    if dialect is POSTGRESQL:
        return start, end
    # SQLite and MySQL stores keep naive UTC text / DATETIME; compare in the same form.
    return start.strftime("%Y-%m-%d %H:%M:%S"), end.strftime("%Y-%m-%d %H:%M:%S")


def from_clause(source: Source, table: Table, dialect: Dialect) -> tuple[str, str, str]:
    """``FROM t0 JOIN t1 ON …`` for the table's join chain, the alias and column that hold the
    customer key, and the dated column (the first timestamp along the chain, or '')."""
    q = dialect.quote
    chain = source.join_chain(table)
    parts = [f"{q(chain[0].name)} t0"]
    for index in range(1, len(chain)):
        child, parent = chain[index - 1], chain[index]
        parts.append(
            f"JOIN {q(parent.name)} t{index} "
            f"ON t{index - 1}.{q(child.customer.column)} = t{index}.{q(parent.primary_key)}"
        )
    last = len(chain) - 1
    customer_column = f"t{last}.{q(chain[last].customer.column)}"
    dated = ""
    for index, link in enumerate(chain):
        if link.timestamp:
            dated = f"t{index}.{q(link.timestamp)}"
            break
    return " ".join(parts), customer_column, dated


def rows_query(
    source: Source,
    table: Table,
    columns: list[str],
    dialect: Dialect,
    *,
    customer_pk: str,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    select: list[str] | None = None,
    runs: tuple[int, int, int] | None = None,
) -> Query:
    """``SELECT`` the given columns of ``table`` for one customer, in primary-key order. ``select``
    replaces the column list with ready-made expressions (PostgreSQL's renderer);
    ``runs=(run_rows, index, lanes)`` keeps only the rows of every ``lanes``-th run of
    ``run_rows`` integer keys, from the ``index``-th, in no particular order (the renderer
    groups them by run and orders them itself)."""
    q = dialect.quote
    frm, customer_column, dated = from_clause(source, table, dialect)
    expressions = select if select is not None else [f"t0.{q(c)}" for c in columns]
    # Names come from the schema-checked map ([A-Za-z0-9_]); values are bound parameters.
    sql = f"SELECT {', '.join(expressions)} FROM {frm} WHERE {customer_column} = {dialect.placeholder}"  # noqa: S608
    params: list[Any] = [customer_param(customer_pk)]
    if dated and date_from is not None and date_to is not None:
        start, end = day_bounds(dialect, date_from, date_to)
        sql += f" AND {dated} >= {dialect.placeholder} AND {dated} < {dialect.placeholder}"
        params += [start, end]
    if runs is None:
        sql += f" ORDER BY t0.{q(table.primary_key)}"
    else:
        run_rows, index, lanes = (int(n) for n in runs)
        if lanes > 1:
            # Run numbers may be negative (mod is then in (-lanes, 0]): run r goes to the lane
            # r mod lanes taken into [0, lanes), with one modulus a row.
            run = f"t0.{q(table.primary_key)} / {run_rows}"
            sql += f" AND mod({run}, {lanes}) IN ({index}, {index - lanes})"
    return Query(sql, tuple(params))

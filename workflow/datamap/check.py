"""Checking a data map against its live database: every table and column it names exists and
every join resolves. All problems are collected, so that one run shows everything to fix."""

from __future__ import annotations

from django.utils.translation import gettext as _

from .connect import MYSQL, POSTGRESQL, SourceUnavailable, StoreConnection, connect
from .model import DataMap, Source
from .sql import rows_query


def live_columns(conn: StoreConnection) -> dict[str, set[str]]:
    """Table -> its columns, as the database itself reports them."""
    cursor = conn.cursor()
    tables: dict[str, set[str]] = {}
    if conn.dialect is POSTGRESQL:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        )
        for table, column in cursor.fetchall():
            tables.setdefault(table, set()).add(column)
    elif conn.dialect is MYSQL:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = DATABASE()"
        )
        for table, column in cursor.fetchall():
            tables.setdefault(table, set()).add(column)
    else:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        for (table,) in cursor.fetchall():
            info = conn.raw.execute(f'PRAGMA table_info("{table}")').fetchall()
            tables[table] = {row[1] for row in info}
    cursor.close()
    return tables


def source_problems(source: Source) -> list[str]:
    try:
        with connect(source.database_url, source_name=source.name, display_url=source.display_url) as conn:
            return _problems(source, conn)
    except SourceUnavailable as err:
        return [str(err)]


def _problems(source: Source, conn: StoreConnection) -> list[str]:
    live = live_columns(conn)
    problems: list[str] = []

    def missing_column(table: str, column: str, role: str) -> None:
        if table in live and column not in live[table]:
            problems.append(
                _("%(source)s: table “%(table)s” has no column “%(column)s” (%(role)s).")
                % {"source": source.name, "table": table, "column": column, "role": role}
            )

    for table in source.tables.values():
        if table.name not in live:
            problems.append(
                _("%(source)s: the table “%(table)s” does not exist.")
                % {"source": source.name, "table": table.name}
            )
            continue
        missing_column(table.name, table.primary_key, _("primary key"))
        missing_column(table.name, table.customer.column, _("customer join"))
        if table.timestamp:
            missing_column(table.name, table.timestamp, _("timestamp"))
        for column, category in table.columns.items():
            missing_column(table.name, column, category)
    for category, policy in source.policies.items():
        qualified = list(policy.rectifiable) + list(policy.erasure.replacements if policy.erasure else ())
        for name in qualified:
            table_name, _dot, column = name.partition(".")
            missing_column(table_name, column, _("policy of %(c)s") % {"c": category})
    if problems:
        return problems
    # Every join must actually run: a column of the wrong type or a broken chain fails here.
    for table in source.tables.values():
        query = rows_query(source, table, [table.primary_key], conn.dialect, customer_pk="0")
        cursor = conn.cursor()
        try:
            cursor.execute(query.sql + " LIMIT 1", query.params)
            cursor.fetchall()
        except Exception as err:  # the driver's own error names what failed
            problems.append(
                _("%(source)s: the join of “%(table)s” to its customer does not resolve: %(error)s")
                % {"source": source.name, "table": table.name, "error": str(err).strip().splitlines()[0]}
            )
            if conn.dialect is POSTGRESQL:
                conn.raw.rollback()
        finally:
            cursor.close()
    return problems


def datamap_problems(datamap: DataMap) -> list[str]:
    problems: list[str] = []
    for source in datamap.sources.values():
        problems.extend(source_problems(source))
    return problems

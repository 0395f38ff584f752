"""Connecting to a store's database from its URL: SQLite, PostgreSQL (psycopg) or MySQL/MariaDB
(PyMySQL), with the few dialect differences the data map layer needs written out by hand."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

from django.utils.translation import gettext as _

from workflow.errors import DomainError, InvalidInput


class SourceUnavailable(DomainError):
    """The store's database cannot be reached or read; nothing was produced."""

    code = "source_unavailable"
    http_status = 503


@dataclass(frozen=True)
class Dialect:
    name: str  # "sqlite" | "postgresql" | "mysql"
    placeholder: str

    def quote(self, identifier: str) -> str:
        # Identifiers come from a schema-checked map (letters, digits, underscore), so quoting
        # is for reserved words ("order"), not for escaping.
        return f"`{identifier}`" if self.name == "mysql" else f'"{identifier}"'


SQLITE = Dialect("sqlite", "?")
POSTGRESQL = Dialect("postgresql", "%s")
MYSQL = Dialect("mysql", "%s")


def dialect_of(url: str) -> Dialect:
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        return SQLITE
    if scheme in ("postgres", "postgresql", "pgsql"):
        return POSTGRESQL
    if scheme in ("mysql", "mariadb", "mysql+pymysql"):
        return MYSQL
    raise InvalidInput(
        _("“%(scheme)s” databases are not supported; use sqlite, postgresql or mysql URLs.")
        % {"scheme": scheme}
    )


def sqlite_path(url: str) -> str:
    """``sqlite:////abs/path`` and ``sqlite:///rel/path`` as SQLAlchemy and dj-database-url read them."""
    rest = url.split(":", 1)[1]
    if rest.startswith("///"):
        return rest[3:] or ":memory:"
    if rest.startswith("//"):
        return rest[2:]
    return rest


@dataclass
class StoreConnection:
    dialect: Dialect
    raw: Any  # the DB-API connection
    # Facts learnt on this connection (column types, how spread a scope's keys are), reused while
    # it is open: one extraction, on one snapshot.
    schema_cache: dict[Any, Any] = field(default_factory=dict)

    def cursor(self) -> Any:
        return self.raw.cursor()


@contextmanager
def connect(
    url: str, *, source_name: str = "", display_url: str = "", readonly: bool = True
) -> Iterator[StoreConnection]:
    """A connection to the store, closed on exit. Unreachable or missing databases raise
    SourceUnavailable naming the source (never the password)."""
    dialect = dialect_of(url)
    label = source_name or display_url or dialect.name
    try:
        raw = _open(dialect, url, readonly=readonly)
    except Exception as err:  # every driver has its own exception tree; all mean "down"
        raise SourceUnavailable(
            _("The store source “%(source)s” (%(url)s) cannot be reached: %(error)s")
            % {"source": label, "url": display_url or dialect.name, "error": _first_line(err)}
        ) from err
    try:
        yield StoreConnection(dialect, raw)
    finally:
        raw.close()


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _open(dialect: Dialect, url: str, *, readonly: bool) -> Any:
    if dialect is SQLITE:
        path = sqlite_path(url)
        if readonly:
            # mode=ro: a missing file is an error, not a new empty database that "has no data".
            return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        return sqlite3.connect(path, check_same_thread=False)
    if dialect is POSTGRESQL:
        import psycopg

        conninfo = url.replace("postgres://", "postgresql://", 1).replace("pgsql://", "postgresql://", 1)
        conn = psycopg.connect(conninfo, connect_timeout=5)
        conn.read_only = readonly
        with conn.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
        conn.commit()
        return conn
    import pymysql  # type: ignore[import-untyped]

    parsed = urlparse(url)
    return pymysql.connect(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 3306,
        user=unquote(parsed.username or ""),
        password=unquote(parsed.password or ""),
        database=parsed.path.lstrip("/"),
        charset="utf8mb4",
        connect_timeout=5,
        init_command="SET time_zone = '+00:00'",
    )

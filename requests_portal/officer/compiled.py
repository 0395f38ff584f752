"""Small reads of one fixed shape, their SQL compiled by Django once per process.

The order page reads half a dozen small things about an order it has already found through
``orders_visible_to`` (its identifiers, checks, scope, package, audit events and the events'
actors). For reads that small, Django compiling the queryset — columns, joins, quoting — costs
several times what the database spends answering it. ``Compiled`` builds the queryset once with a
marker in place of each argument, keeps the SQL Django wrote for it with the columns it selects
and their value converters, and runs that SQL with each call's values, making each row a model
instance as the queryset's own iterator does (``Model.from_db``): the same statement, columns,
value conversions and instances as the queryset would give, without Django working out again,
for every call, which column is which field (as ``Model.objects.raw`` does).

Only for reads whose arguments reach the SQL as parameters unchanged (``field=value``,
``field__in=[…]``) and that select the model's fields (and those of the relations it names in
``select_related``, each row's related instance made as the queryset makes it), nothing else.
The visibility gate's own read is compiled once per *kind of reader*
(``workflow.permissions.order_visibility``), never once for all: its SQL may depend on who asks,
and what it depends on is exactly what that kind names. ``prefetched`` then answers
``instance.relation.all()`` from the rows, as ``prefetch_related`` would.

``together`` runs several compiled reads in one round trip where the database allows it
(PostgreSQL with psycopg's client-side binding, Django's default there: the statements are sent
as one query and their results read one after the other); one after the other elsewhere.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import RelatedPopulator, get_related_populators

# A value for each argument's place while compiling, of the argument's type (an integer within
# every integer field's range, which Django checks). A read that holds a marker's value elsewhere
# in its SQL is refused at compilation, never run wrong.
_INT_MARKER = 1_987_654_321
_STR_MARKER = "\x00compiled-argument-"


def _marker(index: int, kind: type) -> Any:
    return _INT_MARKER - index if kind is int else f"{_STR_MARKER}{index}"


@dataclass(frozen=True)
class _Statement:
    """A compiled read: its SQL, the parameters with the arguments' places in them, the model
    fields of its own columns in order (the first ``len(fields)`` columns), the converters of
    each column that has any, and what makes the related instances of ``select_related``."""

    model: type[Model]
    sql: str
    params: list[Any]
    slots: list[int]
    fields: list[str]
    converters: list[tuple[int, tuple[list[Any], Any]]]
    related: list[RelatedPopulator]

    def bind(self, flat: list[Any]) -> list[Any]:
        params = list(self.params)
        for slot, value in zip(self.slots, flat, strict=True):
            params[slot] = value
        return params

    def instances(self, rows: list[Any], connection: BaseDatabaseWrapper, using: str) -> list[Any]:
        if self.converters:
            rows = [list(row) for row in rows]
            for row in rows:
                for position, (functions, expression) in self.converters:
                    value = row[position]
                    for function in functions:
                        value = function(value, expression, connection)
                    row[position] = value
        model, fields = self.model, self.fields
        if not self.related:
            return [model.from_db(using, fields, row) for row in rows]
        found = []
        width = len(fields)
        for row in rows:
            instance = model.from_db(using, fields, row[:width])
            for populator in self.related:
                populator.populate(row, instance)
            found.append(instance)
        return found


class Compiled:
    """``identifiers = Compiled(lambda pk: OrderIdentifier.objects.filter(order_id=pk), int)``;
    ``identifiers(order.pk)`` → the list the queryset gives. One type per argument; a sequence
    argument (for ``__in``) is given as ``(int,)`` and compiled once per length."""

    def __init__(self, build: Callable[..., QuerySet[Any]], *kinds: type | tuple[type]) -> None:
        self.build = build
        self.kinds = kinds
        self._compiled: dict[tuple[Any, ...], _Statement] = {}

    def __call__(self, *values: Any, using: str = DEFAULT_DB_ALIAS) -> list[Any]:
        statement = self.statement(values, using)
        if not statement.sql:
            return []
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.bind(self._flat(values)))
            rows = cursor.fetchall()
        return statement.instances(rows, connection, using)

    def statement(self, values: Sequence[Any], using: str = DEFAULT_DB_ALIAS) -> _Statement:
        shape = (
            using,
            *(len(v) if isinstance(k, tuple) else None for k, v in zip(self.kinds, values, strict=True)),
        )
        return self._compiled.get(shape) or self._compile(shape, values, using)

    def _flat(self, values: Sequence[Any]) -> list[Any]:
        flat: list[Any] = []
        for kind, value in zip(self.kinds, values, strict=True):
            flat.extend(value if isinstance(kind, tuple) else [value])
        return flat

    def _compile(self, shape: tuple[Any, ...], values: Sequence[Any], using: str) -> _Statement:
        markers: list[Any] = []
        arguments: list[Any] = []
        for kind, value in zip(self.kinds, values, strict=True):
            if isinstance(kind, tuple):
                group = [_marker(len(markers) + i, kind[0]) for i in range(len(value))]
                markers.extend(group)
                arguments.append(group)
            else:
                markers.append(_marker(len(markers), kind))
                arguments.append(markers[-1])
        queryset = self.build(*arguments).using(using)
        if queryset.query.is_empty():  # ``none()``: nothing to ask the database
            statement = _Statement(queryset.model, "", [], [], [], [], [])
            self._compiled[shape] = statement
            return statement
        if queryset._prefetch_related_lookups or queryset._known_related_objects:
            raise ValueError("a compiled read prefetches nothing")
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        params = list(params)
        # The columns as the queryset's iterator reads them (``ModelIterable``): the model's fields
        # in their order, then those of each related model it selects, nothing else.
        info = compiler.klass_info
        own = info["select_fields"] if info is not None else []
        related_columns = sum(len(r["select_fields"]) for r in _related_infos(info)) if info else 0
        if (
            compiler.annotation_col_map
            or info is None
            or own != list(range(len(own)))
            or len(compiler.select) != len(own) + related_columns
        ):
            raise ValueError("a compiled read selects the model's fields alone")
        columns = [column for column, _sql, _alias in compiler.select]
        fields = [column.target.attname for column in columns[: len(own)]]
        converters = list(compiler.get_converters(columns).items())
        slots = []
        for marker in markers:
            found = [i for i, p in enumerate(params) if type(p) is type(marker) and p == marker]
            if len(found) != 1:
                raise ValueError("each argument must reach the SQL once, as a parameter unchanged")
            slots.append(found[0])
        related = get_related_populators(info, compiler.select, using)
        statement = _Statement(queryset.model, sql, params, slots, fields, converters, related)
        self._compiled[shape] = statement
        return statement


def _related_infos(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Every related model ``select_related`` reads, at any depth."""
    found = []
    for related in info.get("related_klass_infos", []):
        found += [related, *_related_infos(related)]
    return found


def _batched(connection: BaseDatabaseWrapper, cursor: Any) -> bool:
    """Whether the cursor sends several statements as one query and returns each one's rows in
    turn (psycopg's client-side binding; server-side binding takes one statement a query)."""
    if connection.vendor != "postgresql":
        return False
    import psycopg

    return isinstance(cursor.cursor, psycopg.ClientCursor)


def together(*reads: tuple[Compiled, tuple[Any, ...]], using: str = DEFAULT_DB_ALIAS) -> list[list[Any]]:
    """``together((identifiers, (pk,)), (events, (stream,)))`` → what each read gives, as if each
    were called alone, asked in one round trip where the database allows it."""
    asked = [(read.statement(values, using), read._flat(values)) for read, values in reads]
    statements = [(statement, flat) for statement, flat in asked if statement.sql]
    connection = connections[using]
    rows: list[list[Any]] = []
    if statements:
        with connection.cursor() as cursor:
            if len(statements) < 2 or not _batched(connection, cursor):
                for statement, flat in statements:
                    cursor.execute(statement.sql, statement.bind(flat))
                    rows.append(cursor.fetchall())
            else:
                cursor.execute(
                    ";\n".join(statement.sql for statement, _flat in statements),
                    [p for statement, flat in statements for p in statement.bind(flat)],
                )
                for index in range(len(statements)):
                    if index and not cursor.nextset():
                        raise RuntimeError("the database returned fewer results than statements")
                    rows.append(cursor.fetchall())
    answers = iter(rows)
    return [
        statement.instances(next(answers), connection, using) if statement.sql else []
        for statement, _flat in asked
    ]


def is_prefetched(instance: Model, relation: str) -> bool:
    """Whether ``instance.<relation>.all()`` answers from rows kept on it (``prefetched``)."""
    cache_name = getattr(instance, relation).field.remote_field.cache_name
    return cache_name in instance.__dict__.get("_prefetched_objects_cache", {})


def prefetched(instance: Model, relation: str, rows: list[Any]) -> None:
    """``instance.<relation>.all()`` answers ``rows`` from now on (and ``count()``, ``exists()``),
    as ``prefetch_related`` leaves it; each row knows ``instance`` as its parent."""
    manager = getattr(instance, relation)
    queryset = manager.get_queryset()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    field = manager.field  # the rows' foreign key to ``instance``
    for row in rows:
        field.set_cached_value(row, instance)
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[field.remote_field.cache_name] = queryset

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
``field__in=[…]``) and that select from one table (no ``select_related``); never for the
visibility gate itself, whose SQL may depend on who asks. ``prefetched`` then answers
``instance.relation.all()`` from the rows, as ``prefetch_related`` would.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet

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
    fields of its columns in order, and the converters of each column that has any."""

    model: type[Model]
    sql: str
    params: list[Any]
    slots: list[int]
    fields: list[str]
    converters: list[tuple[int, tuple[list[Any], Any]]]


class Compiled:
    """``identifiers = Compiled(lambda pk: OrderIdentifier.objects.filter(order_id=pk), int)``;
    ``identifiers(order.pk)`` → the list the queryset gives. One type per argument; a sequence
    argument (for ``__in``) is given as ``(int,)`` and compiled once per length."""

    def __init__(self, build: Callable[..., QuerySet[Any]], *kinds: type | tuple[type]) -> None:
        self.build = build
        self.kinds = kinds
        self._compiled: dict[tuple[Any, ...], _Statement] = {}

    def __call__(self, *values: Any, using: str = DEFAULT_DB_ALIAS) -> list[Any]:
        shape = (
            using,
            *(len(v) if isinstance(k, tuple) else None for k, v in zip(self.kinds, values, strict=True)),
        )
        statement = self._compiled.get(shape) or self._compile(shape, values, using)
        params = list(statement.params)
        for slot, value in zip(statement.slots, self._flat(values), strict=True):
            params[slot] = value
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            rows = cursor.fetchall()
        if statement.converters:
            rows = [list(row) for row in rows]
            for row in rows:
                for position, (functions, expression) in statement.converters:
                    value = row[position]
                    for function in functions:
                        value = function(value, expression, connection)
                    row[position] = value
        model, fields = statement.model, statement.fields
        return [model.from_db(using, fields, row) for row in rows]

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
        if queryset.query.select_related:
            raise ValueError("a compiled read selects from one table (no select_related)")
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        params = list(params)
        # The columns as the queryset's iterator reads them (``ModelIterable``): the model's fields
        # in their order, nothing else selected.
        if (
            compiler.annotation_col_map
            or compiler.klass_info is None
            or len(compiler.select) != len(compiler.klass_info["select_fields"])
        ):
            raise ValueError("a compiled read selects the model's fields alone")
        columns = [column for column, _sql, _alias in compiler.select]
        fields = [column.target.attname for column in columns]
        converters = list(compiler.get_converters(columns).items())
        slots = []
        for marker in markers:
            found = [i for i, p in enumerate(params) if type(p) is type(marker) and p == marker]
            if len(found) != 1:
                raise ValueError("each argument must reach the SQL once, as a parameter unchanged")
            slots.append(found[0])
        statement = _Statement(queryset.model, sql, params, slots, fields, converters)
        self._compiled[shape] = statement
        return statement


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

"""Small reads of one fixed shape, their SQL compiled by Django once per process.

The order page reads half a dozen small things about an order it has already found through
``orders_visible_to`` (its identifiers, checks, scope, package, audit events and the events'
actors). For reads that small, Django compiling the queryset — columns, joins, quoting — costs
several times what the database spends answering it. ``Compiled`` builds the queryset once with a
marker in place of each argument, keeps the SQL Django wrote for it, and runs that SQL with each
call's values through ``Model.objects.raw``: the same statement, columns, value conversions and
model instances as the queryset would give.

Only for reads whose arguments reach the SQL as parameters unchanged (``field=value``,
``field__in=[…]``) and that select from one table (no ``select_related``); never for the
visibility gate itself, whose SQL may depend on who asks. ``prefetched`` then answers
``instance.relation.all()`` from the rows, as ``prefetch_related`` would.
"""

from collections.abc import Callable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model, QuerySet

# A value for each argument's place while compiling, of the argument's type (an integer within
# every integer field's range, which Django checks). A read that holds a marker's value elsewhere
# in its SQL is refused at compilation, never run wrong.
_INT_MARKER = 1_987_654_321
_STR_MARKER = "\x00compiled-argument-"


def _marker(index: int, kind: type) -> Any:
    return _INT_MARKER - index if kind is int else f"{_STR_MARKER}{index}"


class Compiled:
    """``identifiers = Compiled(lambda pk: OrderIdentifier.objects.filter(order_id=pk), int)``;
    ``identifiers(order.pk)`` → the list the queryset gives. One type per argument; a sequence
    argument (for ``__in``) is given as ``(int,)`` and compiled once per length."""

    def __init__(self, build: Callable[..., QuerySet[Any]], *kinds: type | tuple[type]) -> None:
        self.build = build
        self.kinds = kinds
        self._compiled: dict[tuple[Any, ...], tuple[type[Model], str, list[Any], list[int]]] = {}

    def __call__(self, *values: Any, using: str = DEFAULT_DB_ALIAS) -> list[Any]:
        shape = (
            using,
            *(len(v) if isinstance(k, tuple) else None for k, v in zip(self.kinds, values, strict=True)),
        )
        compiled = self._compiled.get(shape) or self._compile(shape, values, using)
        model, sql, params, slots = compiled
        params = list(params)
        for slot, value in zip(slots, self._flat(values), strict=True):
            params[slot] = value
        return list(model._default_manager.raw(sql, params, using=using))

    def _flat(self, values: Sequence[Any]) -> list[Any]:
        flat: list[Any] = []
        for kind, value in zip(self.kinds, values, strict=True):
            flat.extend(value if isinstance(kind, tuple) else [value])
        return flat

    def _compile(
        self, shape: tuple[Any, ...], values: Sequence[Any], using: str
    ) -> tuple[type[Model], str, list[Any], list[int]]:
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
        sql, params = queryset.query.sql_with_params()
        params = list(params)
        slots = []
        for marker in markers:
            found = [i for i, p in enumerate(params) if type(p) is type(marker) and p == marker]
            if len(found) != 1:
                raise ValueError("each argument must reach the SQL once, as a parameter unchanged")
            slots.append(found[0])
        compiled = (queryset.model, sql, params, slots)
        self._compiled[shape] = compiled
        return compiled


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

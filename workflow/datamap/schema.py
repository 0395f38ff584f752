"""Reading a data map file: YAML, checked against a JSON Schema and then for consistency, with
every problem reported at once and each one pointing at its line in the file."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from django.utils.translation import gettext as _

from workflow.choices import DataCategory, IdentifierKind
from workflow.errors import InvalidInput

from .model import CategoryPolicy, CustomerJoin, DataMap, Erasure, MarketingOptOut, Source, Table

_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
_QUALIFIED = r"^[A-Za-z_][A-Za-z0-9_]{0,62}\.[A-Za-z_][A-Za-z0-9_]{0,62}$"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["version", "sources"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "sources": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": _NAME},
            "additionalProperties": {"$ref": "#/$defs/source"},
        },
    },
    "$defs": {
        "source": {
            "type": "object",
            "required": ["database_url", "customer_table", "tables"],
            "additionalProperties": False,
            "properties": {
                "database_url": {"type": "string", "minLength": 1},
                "customer_table": {"type": "string", "pattern": _NAME},
                "tables": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"pattern": _NAME},
                    "additionalProperties": {"$ref": "#/$defs/table"},
                },
                "categories": {
                    "type": "object",
                    "propertyNames": {"enum": DataCategory.values},
                    "additionalProperties": {"$ref": "#/$defs/policy"},
                },
                "marketing_opt_out": {
                    "type": "object",
                    "required": ["table", "set"],
                    "additionalProperties": False,
                    "properties": {
                        "table": {"type": "string", "pattern": _NAME},
                        "set": {"type": "object", "minProperties": 1, "propertyNames": {"pattern": _NAME}},
                    },
                },
            },
        },
        "table": {
            "type": "object",
            "required": ["primary_key", "customer", "columns"],
            "additionalProperties": False,
            "properties": {
                "primary_key": {"type": "string", "pattern": _NAME},
                "customer": {
                    "type": "object",
                    "required": ["column"],
                    "additionalProperties": False,
                    "properties": {
                        "column": {"type": "string", "pattern": _NAME},
                        "through": {"type": "string", "pattern": _NAME},
                    },
                },
                "timestamp": {"type": ["string", "null"], "pattern": _NAME},
                "identifiers": {
                    "type": "object",
                    "propertyNames": {"enum": IdentifierKind.values},
                    "additionalProperties": {
                        "oneOf": [
                            {"type": "string", "pattern": _NAME},
                            {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": _NAME}},
                        ]
                    },
                },
                "columns": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"pattern": _NAME},
                    "additionalProperties": {"enum": DataCategory.values},
                },
            },
        },
        "policy": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "erasure": {
                    "type": "object",
                    "required": ["method"],
                    "additionalProperties": False,
                    "properties": {
                        "method": {"enum": ["delete", "anonymise", "retain"]},
                        "with": {"type": "object", "propertyNames": {"pattern": _QUALIFIED}},
                        "reason": {"type": "string"},
                    },
                },
                "rectifiable": {"type": "array", "items": {"type": "string", "pattern": _QUALIFIED}},
            },
        },
    },
}

_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class DataMapError(InvalidInput):
    """A data map that cannot be used; ``problems`` lists every one, each with its line."""

    code = "datamap_invalid"

    def __init__(self, origin: str, problems: Sequence[str]) -> None:
        self.origin = origin
        self.problems = list(problems)
        super().__init__(
            _("The data map %(file)s has %(n)d problem(s):") % {"file": origin, "n": len(self.problems)}
        )
        self.details = self.problems

    def __str__(self) -> str:
        return "\n  ".join([self.message, *self.problems])


class _Lines:
    """Finds the line of a value in the YAML file from its path of keys and indices."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def line(self, path: Iterable[Any]) -> int:
        node = self.root
        line = node.start_mark.line + 1 if node is not None else 1
        for step in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == str(step):
                        child = value
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                child = node.value[step]
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line


def _where(path: Sequence[Any]) -> str:
    return ".".join(str(p) for p in path) or "(top)"


def _expand(url: str, path: Sequence[Any], lines: _Lines, problems: list[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value is None:
            if default is None:
                problems.append(
                    _("line %(line)d: %(where)s: the environment variable %(var)s is not set.")
                    % {"line": lines.line(path), "where": _where(path), "var": name}
                )
                return ""
            return default
        return value

    return _ENV.sub(replace, url)


def _without_password(url: str) -> str:
    return re.sub(r"^([a-z0-9+]+://[^:/@]*):[^@/]*@", r"\1:***@", url)


def _has_literal_password(url: str) -> bool:
    """True when the file itself (before expansion) writes a password into the URL."""
    literal = _ENV.sub("", url)
    return bool(re.match(r"^[a-z0-9+]+://[^:/@]*:[^@/]+@", literal))


def parse_datamap(text: str, *, origin: str = "<data map>") -> DataMap:
    """Parse and check a data map; raise DataMapError listing every problem with its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(err, "problem", None) or str(err)
        raise DataMapError(
            origin, [_("line %(line)d: not valid YAML: %(problem)s") % {"line": line, "problem": problem}]
        ) from err
    lines = _Lines(root)
    problems: list[str] = []
    for error in sorted(_VALIDATOR.iter_errors(document), key=lambda e: lines.line(e.absolute_path)):
        path = list(error.absolute_path)
        problems.append(
            _("line %(line)d: %(where)s: %(message)s")
            % {"line": lines.line(path), "where": _where(path), "message": error.message}
        )
    if problems:
        raise DataMapError(origin, problems)
    datamap = _build(document, lines, problems, origin)
    if problems:
        raise DataMapError(origin, problems)
    return datamap


def load_datamap(path: str | Path) -> DataMap:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise DataMapError(
            str(path), [_("the file cannot be read: %(err)s") % {"err": err.strerror}]
        ) from err
    return parse_datamap(text, origin=str(path))


def load_datamaps(paths: Iterable[str | Path]) -> DataMap:
    """Several files, one deployment: their sources are merged; a source named twice is refused."""
    sources: dict[str, Source] = {}
    for path in paths:
        for name, source in load_datamap(path).sources.items():
            if name in sources:
                raise DataMapError(
                    str(path),
                    [
                        _("the source “%(name)s” is already described in %(other)s.")
                        % {"name": name, "other": sources[name].origin}
                    ],
                )
            sources[name] = source
    if not sources:
        raise InvalidInput(_("No data map is configured (STORE_DATAMAPS is empty)."))
    return DataMap(sources=sources)


def _columns_list(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _build(document: dict[str, Any], lines: _Lines, problems: list[str], origin: str) -> DataMap:
    """Consistency the schema cannot say: joins resolve, policies name mapped columns, no cycles."""

    def problem(path: list[Any], message: str) -> None:
        problems.append(
            _("line %(line)d: %(where)s: %(message)s")
            % {"line": lines.line(path), "where": _where(path), "message": message}
        )

    sources: dict[str, Source] = {}
    for source_name, raw in document["sources"].items():
        base = ["sources", source_name]
        if _has_literal_password(raw["database_url"]):
            problem(
                [*base, "database_url"],
                _(
                    "write no password in the data map; take the URL from the environment, "
                    "e.g. ${STORE_DATABASE_URL}."
                ),
            )
        url = _expand(raw["database_url"], [*base, "database_url"], lines, problems)
        tables: dict[str, Table] = {}
        for table_name, t in raw["tables"].items():
            identifiers = {kind: _columns_list(cols) for kind, cols in (t.get("identifiers") or {}).items()}
            tables[table_name] = Table(
                name=table_name,
                primary_key=t["primary_key"],
                customer=CustomerJoin(
                    column=t["customer"]["column"], through=t["customer"].get("through", "")
                ),
                timestamp=t.get("timestamp") or "",
                identifiers=identifiers,
                columns=dict(t["columns"]),
            )
        if raw["customer_table"] not in tables:
            problem(
                [*base, "customer_table"],
                _("the customer table “%(t)s” is not among the tables.") % {"t": raw["customer_table"]},
            )
        else:
            root = tables[raw["customer_table"]]
            if root.customer.through or root.customer.column != root.primary_key:
                problem(
                    [*base, "tables", root.name, "customer"],
                    _("the customer table's customer column must be its own primary key."),
                )
        for table in tables.values():
            tpath = [*base, "tables", table.name]
            seen = {table.name}
            current = table
            while current.customer.through:
                if current.customer.through not in tables:
                    problem(
                        [*tpath, "customer", "through"],
                        _("joins through “%(t)s”, which is not in the map.")
                        % {"t": current.customer.through},
                    )
                    break
                current = tables[current.customer.through]
                if current.name in seen:
                    problem([*tpath, "customer", "through"], _("its joins go round in a circle."))
                    break
                seen.add(current.name)
            for kind, cols in table.identifiers.items():
                for col in cols:
                    if col not in table.columns:
                        problem(
                            [*tpath, "identifiers", kind],
                            _(
                                "identifier column “%(c)s” must also be listed under columns "
                                "with its category."
                            )
                            % {"c": col},
                        )
        policies: dict[str, CategoryPolicy] = {}
        for category, raw_policy in (raw.get("categories") or {}).items():
            ppath = [*base, "categories", category]
            erasure = None
            if "erasure" in raw_policy:
                e = raw_policy["erasure"]
                erasure = Erasure(
                    method=e["method"], replacements=dict(e.get("with") or {}), reason=e.get("reason", "")
                )
                if erasure.method == "anonymise" and not erasure.replacements:
                    problem([*ppath, "erasure"], _("anonymise needs “with”: the replacement of each column."))
                if erasure.method == "retain" and not erasure.reason.strip():
                    problem([*ppath, "erasure"], _("retain needs the “reason” told to the customer."))
                if erasure.method == "delete":
                    for table in tables.values():
                        if category in table.categories and table.categories != {category}:
                            problem(
                                [*ppath, "erasure", "method"],
                                _(
                                    "cannot delete rows of “%(t)s”: it also holds other categories; "
                                    "anonymise instead."
                                )
                                % {"t": table.name},
                            )
                for qualified in erasure.replacements:
                    _check_qualified(
                        qualified, category, tables, [*ppath, "erasure", "with", qualified], problem
                    )
            rectifiable = tuple(raw_policy.get("rectifiable") or ())
            for index, qualified in enumerate(rectifiable):
                _check_qualified(qualified, category, tables, [*ppath, "rectifiable", index], problem)
            policies[category] = CategoryPolicy(erasure=erasure, rectifiable=rectifiable)
        opt_out = None
        if "marketing_opt_out" in raw:
            m = raw["marketing_opt_out"]
            opt_out = MarketingOptOut(table=m["table"], set_values=dict(m["set"]))
            if m["table"] not in tables:
                problem(
                    [*base, "marketing_opt_out", "table"],
                    _("the table “%(t)s” is not in the map.") % {"t": m["table"]},
                )
            else:
                for column in m["set"]:
                    if tables[m["table"]].columns.get(column) != DataCategory.MARKETING_CONSENT:
                        problem(
                            [*base, "marketing_opt_out", "set", column],
                            _("“%(c)s” is not a marketing-consent column of “%(t)s”.")
                            % {"c": column, "t": m["table"]},
                        )
        sources[source_name] = Source(
            name=source_name,
            database_url=url,
            display_url=_without_password(url),
            customer_table=raw["customer_table"],
            tables=tables,
            policies=policies,
            marketing_opt_out=opt_out,
            origin=origin,
        )
    return DataMap(sources=sources)


def _check_qualified(
    qualified: str, category: str, tables: dict[str, Table], path: list[Any], problem: Any
) -> None:
    table_name, _dot, column = qualified.partition(".")
    table = tables.get(table_name)
    if table is None:
        problem(path, _("the table “%(t)s” is not in the map.") % {"t": table_name})
    elif table.columns.get(column) != category:
        problem(path, _("“%(q)s” is not a column of category “%(c)s”.") % {"q": qualified, "c": category})

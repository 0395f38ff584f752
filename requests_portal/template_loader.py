"""Django's cached template loader, with each template's constant text joined once per language.

A page's markup is mostly text between tags, and its words are ``{% translate "…" %}`` of a
literal: the same output for every reader of a language, rendered again, node by node, on every
page (the order page has some fifty). When this loader first loads a template, each run of
adjacent text and literal ``{% translate %}`` nodes — in the template and in every block, branch
and loop inside it — becomes one ``ConstantText`` node, which renders its run once per language
(and per autoescaping, although the translation of a literal is marked safe, as the literal is)
and gives that text again afterwards. Nothing that reads the context is touched: variables,
filters, tags other than a literal translation (``as``, a variable message or context),
includes and blocks render as before, in the same order, so a page is byte for byte what Django
would write (``tests/requests_portal/test_template_loader.py``).
"""

import threading
from typing import Any

from django.template.base import Node, NodeList, Origin, Template, TextNode, Variable
from django.template.context import Context
from django.template.loaders import cached
from django.templatetags.i18n import TranslateNode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language


def is_constant(node: Node) -> bool:
    """A ``{% translate %}`` whose output depends on the language alone: a literal message (and
    context), no filters, not stored ``as`` a variable."""
    if type(node) is not TranslateNode or node.asvar:
        return False
    expression = node.filter_expression
    message = expression.var
    context = node.message_context
    return (
        isinstance(message, Variable)
        and isinstance(message.literal, str)
        and message.lookups is None
        and not expression.filters
        and (context is None or (not context.is_var and not context.filters))
    )


class ConstantText(Node):
    """Adjacent text and literal translations of a template, rendered once per (language,
    autoescaping) and kept."""

    child_nodelists = ()

    def __init__(self, parts: list[Node]) -> None:
        self.parts = parts
        self.token = parts[0].token  # where a template error is reported (debug pages)
        self.origin: Origin | None = parts[0].origin
        self._rendered: dict[tuple[str | None, bool], str] = {}

    def render(self, context: Context) -> SafeString:
        key = (get_language(), context.autoescape)
        text = self._rendered.get(key)
        if text is None:
            # As NodeList.render joins them: each translation escaped by its own node.
            text = self._rendered[key] = "".join(str(part.render(context)) for part in self.parts)
        return mark_safe(text)  # noqa: S308 - the template's own text and escaped translations


def fold(nodelist: NodeList) -> None:
    """Join each run of text and literal translations in ``nodelist`` and in every nodelist
    within its nodes, in place."""
    folded: list[Node] = []
    run: list[Node] = []

    def end_run() -> None:
        if len(run) == 1 and type(run[0]) is TextNode:
            folded.append(run[0])  # text alone is as cheap as it gets
        elif run:
            folded.append(ConstantText(list(run)))
        run.clear()

    for node in nodelist:
        _fold_within(node)
        if type(node) is TextNode or is_constant(node):
            run.append(node)
        else:
            end_run()
            folded.append(node)
    end_run()
    nodelist[:] = folded


def _fold_within(node: Node) -> None:
    for value in vars(node).values():
        if isinstance(value, NodeList):
            fold(value)
    for _condition, nodelist in getattr(node, "conditions_nodelists", ()):  # {% if %} … {% elif %}
        fold(nodelist)


_folding = threading.Lock()


class Loader(cached.Loader):
    """``("requests_portal.template_loader.Loader", [loaders…])`` in ``TEMPLATES``' loaders, in
    place of Django's cached loader."""

    def get_template(self, template_name: str, skip: Any = None) -> Template:
        template = super().get_template(template_name, skip)
        if not getattr(template, "_constant_text_folded", False):
            with _folding:  # once, even when two threads load it at the same moment
                if not getattr(template, "_constant_text_folded", False):
                    fold(template.nodelist)
                    template._constant_text_folded = True  # type: ignore[attr-defined]
        return template

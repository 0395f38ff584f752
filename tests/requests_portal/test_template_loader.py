"""The template loader that joins each template's constant text once per language: pages come
out byte for byte as Django's own cached loader writes them, in every language and escaping."""

import re
from typing import Any

import pytest
from django.template import Context, Engine
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation

from requests_portal.template_loader import ConstantText, is_constant
from tests.factories import make_order, sign_in_staff
from workflow.models import DisclosureState

S = DisclosureState

TEMPLATES = {
    "page.html": (
        "{% load i18n %}<h1>{% translate 'Dashboard' %}</h1> <p title=\"{% translate 'Due on' %}\">"
        "{% translate 'Today' context 'none' %} {{ name }}</p>"
        "{% translate 'Conflict' as word %}[{{ word }}]{% translate message %}"
        "{% if flag %}{% translate 'Save' %} & <b>{{ name }}</b>{% else %}{% translate 'Menu' %}{% endif %}"
        "{% for x in items %}<i>{% translate 'Close' %}{{ x }}</i>"
        "{% empty %}{% translate 'Main' %}{% endfor %}"
        "{% autoescape off %}{% translate 'Rows' %}{{ name }}{% endautoescape %}"
        "{% language 'en' %}{% translate 'Dashboard' %}{% endlanguage %}"
        "{% translate 'Dashboard'|upper %}{% translate \"Tom's & Jerry's\" %}"
        "{% block extra %}{% translate 'Seal' %}{% endblock %}{% include 'part.html' %}"
    ),
    "child.html": "{% extends 'page.html' %}{% load i18n %}"
    "{% block extra %}<em>{% translate 'Package' %}</em>{{ block.super }}{% endblock %}",
    "part.html": "{% load i18n %} <footer>{% translate 'Sign out' %}</footer>",
}


def engines() -> tuple[Engine, Engine]:
    loaders = [("django.template.loaders.locmem.Loader", TEMPLATES)]
    libraries = {"i18n": "django.templatetags.i18n"}
    plain = Engine(loaders=[("django.template.loaders.cached.Loader", loaders)], libraries=libraries)
    folding = Engine(loaders=[("requests_portal.template_loader.Loader", loaders)], libraries=libraries)
    return plain, folding


@pytest.mark.parametrize("name", ["page.html", "child.html"])
def test_a_template_renders_as_djangos_own_loader_renders_it(name: str) -> None:
    plain, folding = engines()
    contexts = [
        {"name": "<Ada & co>", "flag": True, "items": [1, "<2>"], "message": "Save"},
        {"name": "Ada", "flag": False, "items": [], "message": "<not a msgid>"},
    ]
    for language in ("fa", "en"):
        with translation.override(language):
            for values in contexts * 2:  # the second time from the text kept for the language
                for autoescape in (True, False):
                    expected = plain.get_template(name).render(Context(values, autoescape=autoescape))
                    found = folding.get_template(name).render(Context(values, autoescape=autoescape))
                    assert found == expected
    with translation.override("fa"):
        assert "<h1>پیشخوان</h1>" in folding.get_template(name).render(Context(contexts[0]))


def test_only_literal_translations_are_joined_with_the_text_around_them() -> None:
    _plain, folding = engines()
    nodes = folding.get_template("page.html").nodelist
    joined = [n for n in nodes if isinstance(n, ConstantText)]
    assert joined and all(
        all(type(p).__name__ in ("TextNode", "TranslateNode") for p in n.parts) for n in joined
    )
    assert all(is_constant(p) for n in joined for p in n.parts if type(p).__name__ == "TranslateNode")
    left = [n for n in nodes if type(n).__name__ == "TranslateNode"]
    # ``as word``, a variable message and a filtered one render as Django renders them, each time.
    assert len(left) == 3 and not any(is_constant(n) for n in left)


@pytest.mark.parametrize("state", [S.VERIFYING, S.SCOPING, S.CLOSED])
def test_the_order_page_is_byte_for_byte_what_djangos_loader_writes(
    officer: Any, approver: Any, state: str
) -> None:
    order = make_order(state, officer=officer, approver=approver)
    url = reverse("officer:order", args=[order.reference])
    csrf = re.compile(r'(name="csrfmiddlewaretoken" value=|"X-CSRFToken": )"[^"]+"')
    from django.conf import settings

    plain = [{**settings.TEMPLATES[0], "APP_DIRS": True}]
    plain[0]["OPTIONS"] = {k: v for k, v in plain[0]["OPTIONS"].items() if k != "loaders"}
    pages = {}
    for name, templates in (("folding", settings.TEMPLATES), ("plain", plain)):
        with override_settings(TEMPLATES=templates, PORTAL_PAGE_CACHE_SECONDS=0):
            client = Client()
            sign_in_staff(client, officer)
            for language in ("fa", "en"):
                html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
                pages[name, language] = csrf.sub(r'\1"…"', html)
    for language in ("fa", "en"):
        assert pages["folding", language] == pages["plain", language]
    assert "Verification checklist" in pages["folding", "en"]

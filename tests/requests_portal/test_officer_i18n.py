"""Both catalogs are complete and compiled, and the desk speaks the reader's language."""

import gettext
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from tests.factories import make_order, sign_in_staff

LOCALE = Path(settings.BASE_DIR) / "locale"


def untranslated(po: Path) -> list[str]:
    """msgids whose translation is empty or marked fuzzy (a minimal reader of the PO format)."""
    missing = []
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        parts = re.split(r"^(msgid|msgid_plural|msgstr(?:\[\d\])?) ", block, flags=re.M)
        fields: dict[str, str] = {}
        for key, value in zip(parts[1::2], parts[2::2], strict=True):
            fields[key] = "".join(re.findall(r'^"(.*)"$', value, re.M))
        msgid = fields.get("msgid", "")
        if not msgid:
            continue  # the header
        translations = [v for k, v in fields.items() if k.startswith("msgstr")]
        if "#, fuzzy" in block or not translations or not all(translations):
            missing.append(msgid)
    return missing


@pytest.mark.parametrize("language", ["fa", "en"])
def test_every_string_has_a_translation_and_the_catalog_is_compiled(language: str) -> None:
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    assert untranslated(po) == []
    with po.with_suffix(".mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    msgids = re.findall(r'^msgid "(.+)"$', po.read_text(encoding="utf-8"), re.M)
    stale = [m for m in msgids if "\\" not in m and compiled.gettext(m) == m]
    # English translates to itself; for Persian every message must come out changed.
    assert language == "en" or stale == []


def test_domain_messages_come_out_in_persian() -> None:
    from workflow.errors import StaleVersion

    with translation.override("fa"):
        assert "کس دیگری این دستور را" in str(StaleVersion())


def test_the_order_page_speaks_persian_with_jalali_dates_and_english_with_gregorian(
    client: Any, officer: Any
) -> None:
    order = make_order("received", officer=officer)
    sign_in_staff(client, officer)
    url = reverse("officer:order", args=[order.reference])
    fa = client.get(url, HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert "کار بعدی شما" in fa
    assert re.search(r"[۱۲][۳۴]۰\d/[۰-۹]{2}/[۰-۹]{2}", fa)  # a Jalali date in Persian digits
    client.cookies.clear()
    sign_in_staff(client, officer)
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "What you can do next" in en
    assert order.due_on.isoformat() in en


def test_the_language_switch_keeps_the_reader_on_the_same_page(client: Any, officer: Any) -> None:
    sign_in_staff(client, officer)
    url = reverse("officer:dashboard")
    response = client.post(reverse("set_language"), {"language": "en", "next": url})
    assert response.status_code == 302
    assert response["Location"] == url
    assert 'lang="en"' in client.get(url).content.decode()

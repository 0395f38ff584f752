"""Every string the portal shows exists in Persian: a new string without its translation fails here."""

import shutil
import subprocess
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "locale"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext (msgfmt) is installed by make")
@pytest.mark.parametrize("language", ["fa", "en"])
def test_the_catalog_has_no_untranslated_or_fuzzy_entry(language):
    catalog = LOCALE / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(catalog)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr
    assert "untranslated" not in result.stderr
    assert "translated message" in result.stderr


def test_the_compiled_persian_catalog_is_the_one_django_loads():
    from django.utils import translation

    with translation.override("fa"):
        assert translation.gettext("Dashboard") == "پیشخوان"
        assert translation.gettext("time spent in each state") == "مدت ماندن در هر وضعیت"

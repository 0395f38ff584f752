"""What a fresh officer page costs to render: CPU per request, in-process, page cache off.

It reads the database ``bench/portal.py`` seeded (run that first), signs in its officer as the
benchmark does (password and TOTP passed) and, with ``PORTAL_PAGE_CACHE_SECONDS=0`` and the
product's own settings (DEBUG off, the cached template loader), requests the dashboard, the page
of one order in each state, and three refused forms (a checklist item, the scope, an action:
field errors beside their fields), in Persian and English, ``--repeat`` times each. It prints the
median and least CPU time per request. ``--html DIR`` also writes each page (CSRF tokens masked),
so that the markup before and after a change can be compared page by page.

    .venv/bin/python bench/portal_render.py [--repeat 20] [--html DIR]
        [--db-url postgres://postgres@127.0.0.1:5432/bench_portal] [--cache-url redis://127.0.0.1:6379/7]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--repeat", type=int, default=20)
parser.add_argument("--html", default="", help="a directory to write each rendered page to")
parser.add_argument("--db-url", default="postgres://postgres@127.0.0.1:5432/bench_portal")
parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/7")
ARGS = parser.parse_args()
os.environ.update(
    {
        "DATABASE_URL": ARGS.db_url,
        "DJANGO_SETTINGS_MODULE": "requests_portal.settings",
        "PORTAL_VAR_DIR": str(Path(tempfile.gettempdir()) / "bench_portal_var"),
        "DATABASE_CONN_MAX_AGE": "600",
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "WARNING",
        "CACHE_URL": ARGS.cache_url,
        "PORTAL_PAGE_CACHE_SECONDS": "0",
    }
)

import django  # noqa: E402

django.setup()
logging.disable(logging.WARNING)  # the refused forms answer 400, which Django logs

from django.test import Client  # noqa: E402

from bench.portal_site import verified_session  # noqa: E402
from requests_portal.models import User  # noqa: E402
from workflow.models import DisclosureOrder, DisclosureState  # noqa: E402

CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=|"X-CSRFToken": )"[^"]+"')


def signed_in_client() -> Client:
    officer = User.objects.get(username="bench-officer")
    client = Client(HTTP_HOST="localhost")
    client.cookies["sessionid"] = verified_session(officer)
    client.get("/officer/")  # the CSRF cookie, as a browser holds it after its first page
    return client


def pages() -> list[tuple[str, str, dict[str, str] | None]]:
    # The same order of each state every run (the fourth by id), so that runs compare.
    refs = {
        state: DisclosureOrder.objects.filter(state=state)
        .order_by("pk")
        .values_list("reference", flat=True)[3]
        for state in DisclosureState.values
    }
    verifying, scoping = refs[DisclosureState.VERIFYING], refs[DisclosureState.SCOPING]
    return [
        ("dashboard", "/officer/", None),
        *[(state, f"/officer/orders/{ref}/", None) for state, ref in refs.items()],
        (
            "verifying, checklist item refused",
            f"/officer/orders/{verifying}/check/authenticity_confirmed/",
            {"version": "0", "authenticity_confirmed-passed": "", "authenticity_confirmed-contact_id": "0"},
        ),
        (
            "scoping, scope refused",
            f"/officer/orders/{scoping}/scope/",
            {
                "version": "0",
                "scope-TOTAL_FORMS": "2",
                "scope-INITIAL_FORMS": "0",
                "scope-0-date_from": "13/99/99",
                "scope-1-customer_key": "store:1",
                "scope-1-categories": "nonsense",
            },
        ),
        ("verifying, rejection refused", f"/officer/orders/{verifying}/act/reject/", {"version": "0"}),
    ]


def main() -> None:
    client = signed_in_client()
    out = Path(ARGS.html) if ARGS.html else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    print(f"CPU per request, page cache off, median (least) of {ARGS.repeat}:")
    for language in ("fa", "en"):
        client.cookies["django_language"] = language
        for name, path, data in pages():

            def request(path: str = path, data: dict[str, str] | None = data) -> bytes:
                return (client.post(path, data) if data else client.get(path)).content

            html = request()
            if out:
                name_on_disk = re.sub(r"\W+", "_", name)
                (out / f"{name_on_disk}.{language}.html").write_text(CSRF.sub(r'\1"…"', html.decode()))
            spent = []
            for _ in range(ARGS.repeat):
                began = time.process_time()
                request()
                spent.append(time.process_time() - began)
            median, least = statistics.median(spent) * 1000, min(spent) * 1000
            print(f"  {language} {name:36s} {median:6.1f} ms ({least:.1f})", flush=True)


if __name__ == "__main__":
    main()

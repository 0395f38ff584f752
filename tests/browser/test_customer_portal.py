"""Real Chromium: a customer signs in with a code, reads their ledger and gets their data, in Persian."""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.factories import make_order
from tests.workflow.store_helpers import seed
from workflow.choices import NoticeRule
from workflow.keys import ensure_demo_signing_material
from workflow.models import DisclosureState
from workflow.notify.sms import LocmemSms

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
# made one at a time, so Django's async-safety guard is relaxed for this module.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium_page() -> Iterator[Any]:
    """A Persian-speaking Chromium. Opened inside the test, after any order is made: Playwright's
    event loop in this thread would stop the signing library's own (asyncio.run) from running."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(
            locale="fa-IR", extra_http_headers={"Accept-Language": "fa"}, accept_downloads=True
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        context.close()
        browser.close()


@pytest.fixture
def demo_store(tmp_path: Any, settings: Any, eager_celery: None) -> Any:
    seeded = seed(tmp_path, customers=12)
    settings.STORE_DATAMAPS = [str(seeded.datamap_path)]
    settings.PACKAGE_RENDER_PROCESSES = 1
    ensure_demo_signing_material()
    return seeded


def sign_in(page: Any, live_server: Any, identifier: str) -> None:
    page.goto(f"{live_server.url}/me/sign-in/")
    page.fill("#id_identifier", identifier)
    page.click("#send-code")
    page.wait_for_url(re.compile(r"/me/sign-in/code/$"))
    code = re.findall(r"\b\d{6}\b", LocmemSms.outbox[-1]["body"])[0]
    page.fill("#id_code", code)
    page.click("#sign-in")


def test_a_customer_signs_in_with_a_code_and_reads_their_ledger_in_persian(
    live_server: Any, demo_store: Any, officer: Any, approver: Any, monkeypatch: Any
) -> None:
    from workflow.services import disclosure

    # The orders get their (stand-in) packages from the factory, not from the eager pipeline.
    monkeypatch.setattr(disclosure, "export_enqueuers", [])
    shown = make_order(DisclosureState.CLOSED, officer=officer, approver=approver)
    hidden = make_order(
        DisclosureState.CLOSED,
        officer=officer,
        approver=approver,
        notice_rule=NoticeRule.WITHHOLD_UNTIL_LIFTED,
    )
    with chromium_page() as page:
        sign_in(page, live_server, "۰۹۱۲ ۱۲۳ ۴۵۶۷")
        page.wait_for_url(re.compile(r"/me/$"))
        assert page.get_attribute("html", "dir") == "rtl"
        ledger = page.inner_text("#ledger")
        content = page.content()
        rows = len(page.query_selector_all("#ledger tbody tr"))
    assert shown.authority.name_fa in ledger
    assert hidden.authority.name_fa not in content
    assert rows == 1


def test_a_wrong_code_is_refused_in_persian_and_opens_nothing(live_server: Any, demo_store: Any) -> None:
    with chromium_page() as page:
        refused_and_locked_out(page, live_server)


def refused_and_locked_out(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/me/sign-in/")
    page.fill("#id_identifier", "09121234567")
    page.click("#send-code")
    page.wait_for_url(re.compile(r"/me/sign-in/code/$"))
    page.fill("#id_code", "000000" if "000000" not in LocmemSms.outbox[-1]["body"] else "111111")
    page.click("#sign-in")
    assert page.is_visible("#form-errors")
    page.goto(f"{live_server.url}/me/")
    assert page.url.endswith("/me/sign-in/")


def test_a_customer_files_an_access_request_and_downloads_their_data(
    live_server: Any, demo_store: Any
) -> None:
    with chromium_page() as page:
        file_access_request_and_download(page, live_server)


def file_access_request_and_download(page: Any, live_server: Any) -> None:
    sign_in(page, live_server, "09121234567")
    page.wait_for_url(re.compile(r"/me/$"))
    page.goto(f"{live_server.url}/me/requests/new/")
    page.check("input[name=kind][value=access]")
    page.click("#file-request")
    page.wait_for_url(re.compile(r"/me/requests/DSR-"))
    assert "دسترسی" in page.inner_text("h1")
    with page.expect_download() as download_info:
        page.click("#download-package")
    download = download_info.value
    path = download.path()
    assert path is not None
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert download.suggested_filename.startswith("DSR-")

"""Real Chromium against the live server: an officer and an approver take an order from intake
to a released package, in Persian and in English; the progress bar moves; four eyes holds."""

import datetime as dt
import io
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from requests_portal.accounts.totp import current_code, device_of, ensure_totp_device
from tests.factories import AuthorityFactory, UserFactory, make_order
from tests.workflow.store_helpers import seed
from workflow.calendar import jalali
from workflow.keys import ensure_demo_signing_material
from workflow.models import DisclosureOrder, DisclosureState
from workflow.services import disclosure
from workflow.store import PERSONAS
from workflow.tasks import build_package

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
# made one at a time, so Django's async-safety guard is relaxed for this module.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = DisclosureState
PASSWORD = "correct horse battery staple"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MARYAM = PERSONAS[0]


@pytest.fixture
def desk(tmp_path: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The demo store behind the data map, the signing material, staff with authenticators, and
    an export worker: the real build task, run in a thread instead of a Celery worker process."""
    store = seed(tmp_path, customers=12)
    settings.STORE_DATAMAPS = [str(store.datamap_path)]
    settings.PACKAGE_EXTRACTOR = "tests.browser.slow_extraction.extract"
    settings.PACKAGE_RENDER_PROCESSES = 1
    ensure_demo_signing_material()
    workers: list[threading.Thread] = []

    def build_in_background(order: DisclosureOrder) -> None:
        def work() -> None:
            try:
                build_package.apply(args=(order.pk, order.scope_revision))
            finally:
                connection.close()

        worker = threading.Thread(target=work, daemon=True)
        workers.append(worker)
        worker.start()

    monkeypatch.setattr(disclosure, "export_enqueuers", [build_in_background])
    officer = UserFactory(username="officer", role="legal_officer", first_name="Sara", last_name="Ahmadi")
    approver = UserFactory(username="approver", role="approver", first_name="Reza", last_name="Karimi")
    for user in (officer, approver):
        ensure_totp_device(user)
    authority = AuthorityFactory(
        name_fa="شعبه ۱۲ دادگاه عمومی تهران", name_en="Tehran General Court, Branch 12"
    )
    yield {"officer": officer, "approver": approver, "authority": authority}
    for worker in workers:
        worker.join(timeout=60)


@contextmanager
def browser_context(language: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield lambda: _page(browser, language)
        finally:
            browser.close()


def _page(browser: Any, language: str) -> Any:
    context = browser.new_context(
        locale="fa-IR" if language == "fa" else "en-GB",
        extra_http_headers={"Accept-Language": language},
        viewport={"width": 1360, "height": 900},
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, base: str, user: Any) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/verify/"))
    device = device_of(user)
    assert device is not None
    page.fill("#id_otp_token", current_code(device))
    page.click("main form button.btn-primary")
    page.wait_for_url(re.compile(r"/officer/"))


def scan_pdf(tmp_path: Path) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    out = io.BytesIO()
    pdf.save(out)
    path = tmp_path / "court-order.pdf"
    path.write_bytes(out.getvalue())
    return path


def act(page: Any, action: str, **fields: str) -> None:
    """Fill an action's form in the "what you can do next" panel and press its button."""
    offer = page.locator(f"#offer-{action}")
    for name, value in fields.items():
        control = offer.locator(f"[name={name}]")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    offer.locator("button[type=submit]").click()
    page.wait_for_load_state()


def day(value: dt.date, language: str) -> str:
    return jalali(value, digits="fa") if language == "fa" else value.isoformat()


@pytest.mark.parametrize("language", ["fa", "en"])
def test_an_officer_and_an_approver_take_an_order_from_intake_to_a_released_package(
    live_server: Any, desk: dict[str, Any], tmp_path: Path, language: str
) -> None:
    base = live_server.url
    today = timezone.localdate()
    document = scan_pdf(tmp_path)
    with browser_context(language) as new_page:
        page = new_page()
        sign_in(page, base, desk["officer"])
        assert page.locator("html").get_attribute("dir") == ("rtl" if language == "fa" else "ltr")

        # Intake: dates in the reader's calendar (Persian digits for Persian), the scan attached.
        page.goto(f"{base}/officer/orders/new/")
        page.select_option("#id_authority", str(desk["authority"].pk))
        page.select_option("#id_instrument", "court_order")
        page.fill("#id_authority_reference", "9903-1404-77")
        page.fill("#id_issued_on", day(today - dt.timedelta(days=3), language))
        page.fill("#id_received_on", day(today - dt.timedelta(days=1), language))
        page.fill("#id_due_on", day(today + dt.timedelta(days=10), language))
        page.select_option("#id_identifier-0-kind", "national_id")
        page.fill(
            "#id_identifier-0-value", MARYAM.stored_national_id if language == "fa" else MARYAM.national_id
        )
        for category in ("identity", "contact", "order"):
            page.check(f"input[name=categories][value={category}]")
        page.fill("#id_requested_from", "1400/01/01" if language == "fa" else "2021-03-21")
        page.fill("#id_requested_to", day(today, language))
        page.select_option("#id_language", language)
        page.fill("#id_legal_basis", "Article 104")
        page.set_input_files("#id_document", str(document))
        shot(page, f"officer-{language}-1-intake")
        page.click("main form button[type=submit].btn-primary")
        page.wait_for_url(re.compile(r"/officer/orders/DO-"))
        reference = page.url.rstrip("/").rsplit("/", 1)[-1]

        # Verification: the checklist, item by item, then verify.
        act(page, "start_verification")
        order = DisclosureOrder.objects.get(reference=reference)
        contact = order.authority.contacts.get()
        for item in (
            "authority_competent",
            "authenticity_confirmed",
            "legal_basis_cited",
            "scope_within_instrument",
        ):
            form = page.locator(f"#checklist form[action$='/check/{item}/']")
            form.locator("xpath=..").locator("summary").click()
            form.locator(f"[name='{item}-note']").fill("Article 104")
            if item == "authenticity_confirmed":
                form.locator(f"[name='{item}-contact_id']").select_option(str(contact.pk))
                form.locator(f"[name='{item}-spoke_with']").fill("The branch clerk")
                form.locator(f"[name='{item}-called_at']").fill("10:30")
            form.locator("button[type=submit]").click()
            page.wait_for_load_state()
        shot(page, f"officer-{language}-2-checklist")
        act(page, "verify")

        # Scoping: the store is searched for the order's identifiers; the match is scoped.
        page.click("#find-matches")
        page.wait_for_selector("#matches")
        assert "national_id" in page.locator("#matches").inner_text()
        page.check("#matches input[name=customer][value='store:1']")
        shot(page, f"officer-{language}-3-matches")
        page.click("#matches button[type=submit]")
        page.wait_for_load_state()
        assert "store:1" in page.locator("#scope").inner_text()
        act(page, "submit_scope")
        assert DisclosureOrder.objects.get(reference=reference).state == S.AWAITING_APPROVAL
        # The officer who scoped is never offered the approval.
        assert page.locator("#offer-approve_scope").count() == 0
        shot(page, f"officer-{language}-4-submitted")

        # The approver approves; the export runs and the bar moves without a reload.
        page = new_page()
        sign_in(page, base, desk["approver"])
        page.goto(f"{base}/officer/orders/{reference}/")
        act(page, "approve_scope", note="")
        seen: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and page.locator("#package").count() == 0:
            # Read in one step: htmx may swap the bar out for the package between a count and a read.
            text = page.evaluate("() => document.querySelector('#export-percent')?.innerText ?? null")
            if text is not None and (not seen or seen[-1] != text):
                seen.append(text)
                if len(seen) == 2:
                    shot(page, f"approver-{language}-5-progress")
            time.sleep(0.2)
        assert page.locator("#package").count() == 1, f"the package never appeared (saw {seen})"
        assert len(seen) >= 2, f"the progress bar did not move: {seen}"
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload
        shot(page, f"approver-{language}-6-package-ready")

        # Release: the package is sealed; the order is released.
        act(page, "release")
        assert DisclosureOrder.objects.get(reference=reference).state == S.RELEASED
        assert page.locator("#package-download").count() == 1
        shot(page, f"approver-{language}-7-released")


def test_an_approver_cannot_approve_a_scope_they_prepared(live_server: Any, desk: dict[str, Any]) -> None:
    officer = desk["officer"]
    order = make_order(S.AWAITING_APPROVAL, officer=officer, authority=desk["authority"])
    # The officer who verified and scoped the order has since become an approver.
    officer.groups.set([Group.objects.get(name="approver")])
    with browser_context("en") as new_page:
        page = new_page()
        sign_in(page, live_server.url, officer)
        page.goto(f"{live_server.url}/officer/orders/{order.reference}/")
        offer = page.locator("#offer-approve_scope")
        assert offer.locator("button[type=submit]").is_disabled()
        assert "another approver must take this decision" in offer.inner_text()
        shot(page, "approver-en-four-eyes")
        # Even a forced submission (the disabled attribute removed) is refused by the server.
        offer.locator("button[type=submit]").evaluate("b => b.removeAttribute('disabled')")
        offer.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert "another approver must take this decision" in page.locator("#refusal").inner_text()
    assert DisclosureOrder.objects.get(pk=order.pk).state == S.AWAITING_APPROVAL

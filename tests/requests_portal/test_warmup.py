"""The web process is warmed before it serves (``requests_portal.warmup``), in gunicorn's master,
so that every worker forked from it — a recycled one too — starts with what its first pages need."""

import gc
import runpy
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

from django.db import connections
from django.template import engines
from django.utils import translation
from django.utils.translation import trans_real

from requests_portal.officer import order_page, timeline
from requests_portal.warmup import project_templates, warm

ROOT = Path(__file__).resolve().parents[2]


def test_gunicorn_forks_its_workers_from_the_application_it_imported() -> None:
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["preload_app"] is True


def test_what_the_master_loaded_is_left_out_of_each_workers_garbage_collections() -> None:
    pre_fork = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["pre_fork"]
    try:
        pre_fork(server=None, worker=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_officer_pages_templates_are_among_those_warmed() -> None:
    officer_pages = {"base.html", "officer/order.html", "officer/_order_body.html", "officer/dashboard.html"}
    assert officer_pages <= set(project_templates())


def test_warming_compiles_every_template_and_reads_every_catalog_without_opening_a_connection() -> None:
    loader = engines["django"].engine.template_loaders[0]  # Django's cached loader
    loader.reset()
    trans_real._translations.clear()
    reads = [order_page._IDENTIFIERS, order_page._CHECKS, order_page._LAST_PACKAGE, timeline._EVENTS]
    for read in reads:
        read._compiled.clear()
    order_page._VISIBLE.clear()

    # A connection opened before gunicorn forks would be one socket shared by every worker.
    refused = AssertionError("warming opened a database connection")
    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(
                mock.patch.object(connections[alias], "ensure_connection", side_effect=refused)
            )
        warm()

    assert set(project_templates()) <= set(loader.get_template_cache)
    assert {"fa", "en"} <= set(trans_real._translations)
    with translation.override("fa"):
        assert translation.gettext("Dashboard") != "Dashboard"
    assert all(read._compiled for read in reads)  # the order page's SQL, compiled
    assert order_page._VISIBLE["cases"]._compiled

# ruff: noqa: E501 — report lines are kept whole so that the printed figures read as sentences
"""Package benchmark (issue 4). Every figure is measured in this run, each phase in a child
process of its own so that its peak RSS is its own.

(a) The heavy customer (``--rows`` access-log rows, 100,000 by default): an order scoped to
    every disclosable category of that customer is approved and its package built end to end
    (extraction → manifest → render in a process pool → merge → encrypt → store, as a started
    worker runs it — after what ``worker_process_init`` does: WeasyPrint preloaded and its fonts
    warmed, the signing material checked —, without the queue), then sealed as release does.
    Memory: the peak of the build's whole process tree
    (the build process and its render children), PSS summed, sampled every 10 ms. Compared, in the same run, with
    - a bare WeasyPrint render of the same printed HTML (one process, no PDF/A, no attachments);
    - a raw export of the same rows (SQLite: the same SELECTs, every row fetched;
      PostgreSQL with ``--pg-url``: ``COPY (SELECT …) TO STDOUT``).
(b) A printed section of ``--pages`` pages (1,000 by default): one WeasyPrint call vs the
    package's chunked render with ``--processes`` workers (2), time and peak RSS per worker; the
    chunked render also at a quarter of the pages, to show whether per-worker memory stays flat.

Targets: (a) ≤ 2 s and ≤ 300 MB on 2 cores; (b) chunked ≥ 1.6× faster than one call, per-worker
peak flat in the page count. Usage, from the repository root:

    .venv/bin/python bench/package.py [--rows 100000] [--pages 1000] [--processes 2]
                                      [--pg-url postgres://postgres@127.0.0.1:5432/bench_package]
                                      [--skip-a] [--skip-b]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATE_FROM, DATE_TO = dt.date(2015, 1, 1), dt.date(2026, 11, 1)


def peaks() -> dict[str, float]:
    return {
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "child_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                queue += [int(child) for child in task.read_text().split()]
    return found


def _rollup(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB of one process; PSS shares each page among the processes mapping it."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class TreeMemory:
    """The peak memory of this process and every process it starts, sampled every 10 ms from
    /proc: PSS summed (each shared page counted once, as the kernel charges it; the honest
    figure for a tree of forked processes) and RSS summed (shared pages counted in every
    process: an upper bound)."""

    def __init__(self) -> None:
        import threading

        self.peak_pss_mb = self.peak_rss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        rss = pss = 0
        for pid in _descendants(os.getpid()):
            r, p = _rollup(pid)
            rss, pss = rss + r, pss + p
        self.peak_rss_mb = max(self.peak_rss_mb, rss / 1024)
        self.peak_pss_mb = max(self.peak_pss_mb, pss / 1024)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self._sample()

    def __enter__(self) -> TreeMemory:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def setup_django() -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "requests_portal.settings")
    import django

    django.setup()


# --- (a) phases ----------------------------------------------------------------------------


def phase_setup(args: argparse.Namespace) -> dict[str, Any]:
    """Portal database, store, and an order awaiting approval of the heavy customer's scope."""
    setup_django()
    from django.core.management import call_command

    from workflow import demo
    from workflow.choices import NEVER_DISCLOSED, DataCategory, InstrumentType, NoticeRule
    from workflow.keys import ensure_demo_signing_material
    from workflow.services import disclosure as svc
    from workflow.services.scoping import CustomerChoice, match_order, scope_from_matches
    from workflow.store import HEAVY_CUSTOMER_ID, PERSONAS, seed_store

    call_command("migrate", verbosity=0)
    ensure_demo_signing_material()
    seed_store(
        database_url=args.store_url,
        datamap_path=Path(os.environ["STORE_DATAMAPS"]),
        customers=200,
        heavy_customer_rows=args.rows,
    )
    users = demo.ensure_users()  # the demo approver approves in the e2e phase
    officer = users["officer"]
    persona = next(p for p in PERSONAS if p.customer_id == HEAVY_CUSTOMER_ID)
    today = dt.date.today()
    order = svc.register_order(
        svc.Intake(
            authority=demo.ensure_authorities()[0],
            instrument=InstrumentType.COURT_ORDER,
            authority_reference="BENCH-1",
            issued_on=today - dt.timedelta(days=2),
            received_on=today,
            due_on=today + dt.timedelta(days=10),
            categories=[c for c in DataCategory.values if c not in NEVER_DISCLOSED],
            requested_from=DATE_FROM,
            requested_to=DATE_TO,
            identifiers=[("national_id", persona.national_id)],
            notice_rule=NoticeRule.NOTIFY,
            language=args.language,
        ),
        actor=officer,
    )
    order = svc.start_verification(order, actor=officer)
    order = svc.verify(demo.pass_checklist(order, officer), actor=officer)
    report = match_order(order, actor=officer)
    order = scope_from_matches(
        order,
        actor=officer,
        choices=[CustomerChoice(f"store:{HEAVY_CUSTOMER_ID}")],
        report=report,
        third_party_justification="benchmark",
    )
    order = svc.submit_scope(order, actor=officer)
    return {"order_id": order.pk}


def phase_e2e(args: argparse.Namespace) -> dict[str, Any]:
    """Approve → package_ready (the build, in this process as a worker runs it), then release."""
    setup_django()
    from django.utils import translation

    from requests_portal.celery import app
    from requests_portal.models import User
    from workflow.models import DisclosureOrder, Package
    from workflow.package import render
    from workflow.services import disclosure as svc
    from workflow.tasks import preload_renderer

    app.conf.task_always_eager = True
    # What a started worker has done once, before any package (workflow.tasks, worker_process_init).
    preload_renderer()
    # The printed HTML of the build for the bare render: the front matter as one document, as a
    # plain WeasyPrint render would print it (the build renders it in three parts), and each
    # chunk of the printed tables once.
    documents: list[Any] = []
    chunks: dict[str, None] = {}
    original_front, original_chunk = render.front_html, render.chunk_html

    def keep_front(doc: Any, *a: Any, **k: Any) -> str:
        documents.append(doc)
        return original_front(doc, *a, **k)

    def keep_chunk(*a: Any, **k: Any) -> str:
        html = original_chunk(*a, **k)
        chunks[html] = None
        return html

    render.front_html, render.chunk_html = keep_front, keep_chunk  # type: ignore[assignment]
    approver = User.objects.get(username="approver")
    order = DisclosureOrder.objects.get(pk=args.order_id)
    with TreeMemory() as tree:
        start = time.perf_counter()
        svc.approve_scope(order, actor=approver)
        build_seconds = time.perf_counter() - start
    order = DisclosureOrder.objects.get(pk=args.order_id)
    if order.state != "package_ready":
        raise SystemExit(f"the build failed: {order.export_error}")
    start = time.perf_counter()
    svc.release(order, actor=approver)
    seal_seconds = time.perf_counter() - start
    package = Package.objects.get(order=order)
    html_dir = Path(args.work) / "printed"
    html_dir.mkdir(exist_ok=True)
    with translation.override(documents[-1].language):
        printed = [original_front(documents[-1]), *chunks]  # the complete document's front matter
    for index, html in enumerate(printed):
        (html_dir / f"{index:04d}.html").write_text(html)
    return {
        "seconds": build_seconds,
        "seal_seconds": seal_seconds,
        "rows": package.row_count,
        "pdf_mb": package.size / 1e6,
        "tree_pss_mb": tree.peak_pss_mb,
        "tree_rss_mb": tree.peak_rss_mb,
        **peaks(),
    }


def phase_bare(args: argparse.Namespace) -> dict[str, Any]:
    """The same printed HTML, one bare WeasyPrint call per part, in one process."""
    setup_django()
    import weasyprint

    from workflow.package.render import font_dir

    parts = sorted((Path(args.work) / "printed").glob("*.html"))
    start = time.perf_counter()
    pages = 0
    for part in parts:
        document = weasyprint.HTML(string=part.read_text(), base_url=str(font_dir())).render()
        pages += len(document.pages)
        document.write_pdf()
    return {"seconds": time.perf_counter() - start, "pages": pages, **peaks()}


def phase_raw(args: argparse.Namespace) -> dict[str, Any]:
    """The rows the extraction reads, exported raw (COPY on PostgreSQL, SELECT on SQLite)."""
    setup_django()
    from workflow.choices import NEVER_DISCLOSED, DataCategory
    from workflow.datamap import load_datamap
    from workflow.datamap.connect import connect, dialect_of
    from workflow.datamap.sql import rows_query
    from workflow.store import HEAVY_CUSTOMER_ID

    source = load_datamap(Path(os.environ["STORE_DATAMAPS"])).sources["store"]
    dialect = dialect_of(source.database_url)
    queries = [
        rows_query(
            source,
            table,
            table.columns_of(category),
            dialect,
            customer_pk=str(HEAVY_CUSTOMER_ID),
            date_from=DATE_FROM,
            date_to=DATE_TO,
        )
        for category in DataCategory.values
        if category not in NEVER_DISCLOSED
        for table in source.tables_with(category)
    ]
    with connect(source.database_url) as conn:
        start = time.perf_counter()
        volume = 0
        for query in queries:
            if dialect.name == "postgresql":
                with (
                    conn.raw.cursor() as cursor,
                    cursor.copy(f"COPY ({query.sql}) TO STDOUT", query.params) as copy,
                ):
                    for chunk in copy:
                        volume += len(chunk)
            else:
                for row in conn.raw.execute(query.sql, query.params):
                    volume += len(row)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "method": "COPY" if dialect.name == "postgresql" else "SELECT", **peaks()}


# --- (b) phases ----------------------------------------------------------------------------


def long_document(rows: int, work: Path) -> Any:
    from workflow.package.document import AttachedFile, CustodyEvent, PackageDocument, PrintedTable, ScopeLine

    manifest = work / "manifest.json"
    manifest.write_text("{}")
    table_rows = [
        [
            str(i),
            "زهرا احمدی",
            f"zahra.{i}@example.ir",
            "تهران، خیابان ولیعصر، پلاک ۱۲",
            f"185.12.{i % 250}.7",
        ]
        for i in range(rows)
    ]
    return PackageDocument(
        language="fa",
        package_id="PKG-BNCH-BNCH-BNCH",
        store_name="سرای پارسیان",
        authority_name="شعبهٔ ۱۲ دادگاه عمومی تهران",
        instrument="court_order",
        authority_reference="9903-1402-123",
        order_reference="DO-BNCH-0001",
        issued_on=dt.date(2025, 3, 1),
        received_on=dt.date(2025, 3, 2),
        generated_at=dt.datetime.now(dt.UTC),
        requested_from=DATE_FROM,
        requested_to=DATE_TO,
        scope=[ScopeLine("store:1", ["network_activity"], [("network_activity", rows)], DATE_FROM, DATE_TO, [])],
        manifest=[],
        custody=[CustodyEvent(1, dt.datetime.now(dt.UTC), "order.received", "user:1", "ab" * 32)],
        attachments=[AttachedFile("manifest.json", manifest, "manifest")],
        tables=[
            PrintedTable("store:1", "network_activity", "x.jsonl", ["row", "name", "email", "address", "ip"],
                         table_rows, rows)
        ],
    )  # fmt: skip


def phase_single(args: argparse.Namespace) -> dict[str, Any]:
    setup_django()
    import weasyprint

    from workflow.package.render import chunk_html, font_dir, table_chunks

    doc = long_document(args.doc_rows, Path(args.work))
    slices = [s for chunk in table_chunks(doc, 10**9) for s in chunk]
    html = chunk_html(doc, slices, first=True)
    start = time.perf_counter()
    document = weasyprint.HTML(string=html, base_url=str(font_dir())).render()
    pages = len(document.pages)
    document.write_pdf(pdf_variant="pdf/a-3b")
    return {"seconds": time.perf_counter() - start, "pages": pages, **peaks()}


def phase_chunked(args: argparse.Namespace) -> dict[str, Any]:
    setup_django()
    from workflow.package.render import page_count, render_package

    doc = long_document(args.doc_rows, Path(args.work))
    start = time.perf_counter()
    pdf = render_package(doc, chunk_rows=args.chunk_rows, processes=args.processes)
    return {"seconds": time.perf_counter() - start, "pages": page_count(pdf), **peaks()}


PHASES = {
    "setup": phase_setup,
    "e2e": phase_e2e,
    "bare": phase_bare,
    "raw": phase_raw,
    "single": phase_single,
    "chunked": phase_chunked,
}


def run(phase: str, env: dict[str, str], **options: Any) -> dict[str, Any]:
    command = [sys.executable, __file__, "--phase", phase]
    for key, value in options.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def ensure_pg_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0].replace("postgres://", "postgresql://", 1) + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def bench_a(args: argparse.Namespace, work: Path) -> None:
    if args.pg_url:
        ensure_pg_database(args.pg_url)
    env = dict(os.environ)
    env.update(
        {
            "PORTAL_VAR_DIR": str(work / "var"),
            "STORE_DATAMAPS": str(work / "datamap.yaml"),
            "DATABASE_URL": f"sqlite:///{work / 'portal.sqlite3'}",
            "LOG_LEVEL": "WARNING",
            "PACKAGE_RENDER_PROCESSES": str(args.processes),
        }
    )
    store_url = args.pg_url or f"sqlite:///{work / 'store.sqlite3'}"
    order = run("setup", env, store_url=store_url, rows=args.rows, language=args.language, work=work)
    e2e = run("e2e", env, order_id=order["order_id"], work=work)
    bare = run("bare", env, work=work)
    raw = run("raw", env, work=work)
    peak = e2e["tree_pss_mb"]
    print(
        f"(a) heavy customer, {e2e['rows']} rows, store {'PostgreSQL' if args.pg_url else 'SQLite'}, load average {os.getloadavg()[0]:.2f}:"
    )
    print(
        f"    package end to end (approve → package_ready): {e2e['seconds']:.2f} s;  sealing at release {e2e['seal_seconds']:.2f} s"
    )
    print(
        f"    peak memory of the build's process tree: {peak:.0f} MB PSS (shared pages counted once; RSS summed "
        f"{e2e['tree_rss_mb']:.0f} MB);  build process peak RSS {e2e['peak_rss_mb']:.0f} MB, largest render child "
        f"{e2e['child_peak_rss_mb']:.0f} MB;  PDF {e2e['pdf_mb']:.1f} MB"
    )
    print(
        f"    bare WeasyPrint of the same printed HTML ({bare['pages']} pages): {bare['seconds']:.2f} s, "
        f"{bare['peak_rss_mb']:.0f} MB  →  package ÷ bare = {e2e['seconds'] / bare['seconds']:.2f}× time, "
        f"{peak / bare['peak_rss_mb']:.2f}× memory"
    )
    print(
        f"    raw {raw['method']} of the same rows: {raw['seconds']:.2f} s, {raw['peak_rss_mb']:.0f} MB  →  "
        f"package ÷ raw = {e2e['seconds'] / raw['seconds']:.1f}× time, {peak / raw['peak_rss_mb']:.2f}× memory"
    )
    verdict = "met" if e2e["seconds"] <= 2 and peak <= 300 else "NOT met"
    print(f"    target ≤ 2 s and ≤ 300 MB: {verdict}")  # fmt: skip


def bench_b(args: argparse.Namespace, work: Path) -> None:
    env = dict(os.environ) | {"PORTAL_VAR_DIR": str(work / "var"), "LOG_LEVEL": "WARNING"}
    # Calibrate rows per page on a small sample, then size the document to --pages.
    sample = run("single", env, doc_rows=400, work=work)
    rows = int(400 * args.pages / sample["pages"])
    single = run("single", env, doc_rows=rows, work=work)
    chunked = run(
        "chunked", env, doc_rows=rows, work=work, chunk_rows=args.chunk_rows, processes=args.processes
    )
    quarter = run(
        "chunked", env, doc_rows=rows // 4, work=work, chunk_rows=args.chunk_rows, processes=args.processes
    )
    print(
        f"(b) printed section of {single['pages']} pages ({rows} rows), {args.processes} render processes, "
        f"chunks of {args.chunk_rows} rows:"
    )
    print(f"    one WeasyPrint call: {single['seconds']:.1f} s, peak {single['peak_rss_mb']:.0f} MB")
    print(
        f"    chunked + merged + page stamps: {chunked['seconds']:.1f} s ({chunked['pages']} pages), "
        f"peak per render worker {chunked['child_peak_rss_mb']:.0f} MB, parent {chunked['peak_rss_mb']:.0f} MB"
    )
    print(
        f"    at {quarter['pages']} pages: {quarter['seconds']:.1f} s, peak per render worker "
        f"{quarter['child_peak_rss_mb']:.0f} MB, parent {quarter['peak_rss_mb']:.0f} MB"
    )
    speedup = single["seconds"] / chunked["seconds"]
    flat = chunked["child_peak_rss_mb"] <= quarter["child_peak_rss_mb"] * 1.15
    print(f"    speed-up {speedup:.2f}× (target ≥ 1.6×: {'met' if speedup >= 1.6 else 'NOT met'}); per-worker peak "
          f"{'flat' if flat else 'NOT flat'} from {quarter['pages']} to {chunked['pages']} pages")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phase", default="")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--chunk-rows", type=int, default=1500)
    parser.add_argument("--language", default="fa")
    parser.add_argument("--pg-url", default="")
    parser.add_argument("--skip-a", action="store_true")
    parser.add_argument("--skip-b", action="store_true")
    # phase options
    parser.add_argument("--work", default="")
    parser.add_argument("--store-url", default="")
    parser.add_argument("--order-id", type=int, default=0)
    parser.add_argument("--doc-rows", type=int, default=0)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](args)))
        return
    work = Path(tempfile.mkdtemp(prefix="bench-package-"))
    try:
        if not args.skip_a:
            bench_a(args, work)
        if not args.skip_b:
            bench_b(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Rendering a package: a ``PackageDocument`` in, PDF/A-3b bytes out (DESIGN §3).

Pure: no models, no storage. The document is rendered in parts so that a long one is rendered
in parallel and no single WeasyPrint call grows with the data:

* the front matter in two parts, split where the chain of custody starts a page of its own as
  it always did: the cover letter with the scope and the manifest (its catalog — XMP, output
  intent — becomes the package's), and the chain of custody, which does not depend on the
  extracted data, so the build starts it before the extraction (``PackageRender.render_ahead``);
* the printed tables, cut into chunks of at most ``chunk_rows`` rows, sized by their estimated
  cost so that the render processes get equal shares;
* a page-number stamp ("page x of y") overlaid once the page count is known;
* every attachment embedded at the merge.

Each part is rendered in a child process of a pool that lives for one package only, so the
memory WeasyPrint takes is returned to the system when the package is done, whatever worker
runs the build. The children are forked from a process that has loaded WeasyPrint and warmed
one font configuration (``preload``), which every part reuses instead of setting up fontconfig,
Pango and the fonts again. The parts are merged with pikepdf.
"""

import contextlib
import datetime as dt
import gc
import io
import itertools
import logging
import multiprocessing
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from workflow.calendar import jalali, persian_digits

from .document import AttachedFile, PackageDocument, PrintedTable
from .wording import WORDING, category_label, instrument_label, package_wording

PDF_VARIANT = "pdf/a-3b"
# WeasyPrint logs every layout step at INFO: one line per page of a thousand-page package.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
STAMP_PAGES_PER_JOB = 400
# How long the rendering process waits for a layout report before it looks at the parts again.
LAYOUT_WAIT_SECONDS = 0.05
# What a part costs to render, in rough milliseconds of one core (fitted on the heavy customer's
# parts, warm fonts): only the balance between the render processes depends on these.
PART_COST = 40.0  # any part: parsing, styles, PDF/A output
TABLE_COST = 15.0  # a printed table's heading, note and header row
ROW_COST = 1.5  # a printed row, besides its text
CHAR_COST = 0.055  # a character of a printed cell: line breaking and drawing
COVER_COST = 70.0  # the cover letter and the scope, besides its lines
SCOPE_LINE_COST = 10.0
MANIFEST_ENTRY_COST = 8.0  # a hash that may break anywhere
CUSTODY_EVENT_COST = 12.0
# A chunk costs PART_COST besides its rows: a remainder smaller than that is not worth a part.
MIN_CHUNK_COST = PART_COST
# The front matter's sections, and the parts it is rendered in: the cover letter with the scope
# and the manifest, which need the extracted data, and the chain of custody, which does not.
COVER, MANIFEST, CUSTODY = "cover", "manifest", "custody"
FRONT_SECTIONS = (COVER, MANIFEST, CUSTODY)
FRONT_PARTS = ((COVER, MANIFEST), (CUSTODY,))
ProgressCallback = Callable[[int], None]


class RenderError(Exception):
    """WeasyPrint or the merge failed; the message names the part."""


def font_dir() -> Path:
    return Path(settings.BASE_DIR) / "requests_portal" / "static" / "fonts" / "vazirmatn"


# --- Formatting: numbers and dates in the package's language --------------------------------


def number(value: int, language: str) -> str:
    return persian_digits(value) if language == "fa" else str(value)


def date_text(day: dt.date, language: str) -> str:
    """Jalali and Gregorian, in that order for Persian readers, the other way for English."""
    if language == "fa":
        # Slashes, not hyphens: between Persian digits a hyphen lets the bidi algorithm reverse
        # the parts of the date in right-to-left text.
        return f"{jalali(day)} ({persian_digits(day.strftime('%Y/%m/%d'))})"
    return f"{day.isoformat()} (Jalali {jalali(day, digits='en')})"


# Isolates: an identifier stays left-to-right, and each table cell takes the direction of its
# own first letter, inside right-to-left text. WeasyPrint ignores the CSS unicode-bidi
# property (and <bdi>'s isolation in plain text such as margin boxes); Pango honours these.
LRI, PDI = "\u2066", "\u2069"


def ltr(text: str) -> str:
    return f"{LRI}{text}{PDI}"


_RTL_LETTERS = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


def cell_with_direction(text: str) -> tuple[str, str]:
    """A table cell and its base direction: right-to-left only when it holds Hebrew or Arabic
    script letters, so that an address reads right to left and an e-mail, an IP, a user agent
    or a date keeps its order, including across wrapped lines."""
    return text, ("rtl" if _RTL_LETTERS.search(text) else "ltr")


def css_string(text: str) -> str:
    """``text`` as the inside of a CSS double-quoted string (for @page margin boxes)."""
    out = []
    for char in text:
        if char in '\\"<>' or ord(char) < 0x20:
            out.append(f"\\{ord(char):x} ")
        else:
            out.append(char)
    return "".join(out)


def confidentiality_line(doc: PackageDocument) -> str:
    return package_wording(doc, date_text, ltr)["confidential"].format(
        authority=doc.authority_name, reference=ltr(doc.authority_reference)
    )


def _common(doc: PackageDocument) -> dict[str, Any]:
    return {
        "w": package_wording(doc, date_text, ltr),
        "language": doc.language,
        "dir": "rtl" if doc.language == "fa" else "ltr",
        "font_dir": font_dir().as_uri(),
        "confidential_css": css_string(confidentiality_line(doc)),
        "list_separator": "، " if doc.language == "fa" else ", ",
    }


# --- HTML of each part ---------------------------------------------------------------------


def front_html(doc: PackageDocument, sections: Sequence[str] = FRONT_SECTIONS) -> str:
    """The front matter, or the given sections of it (each of the manifest and the chain of
    custody starts on a page of its own, so the parts paginate as the whole does)."""
    lang = doc.language
    w = package_wording(doc, date_text, ltr)
    exclusion_reason = {
        "credentials": w["excluded_credentials"],
        "third_party": w["excluded_third_party"],
        "not_scoped": w["excluded_not_scoped"],
    }
    scope = [
        {
            "customer_key": line.customer_key,
            "period": f"{date_text(line.date_from, lang)} – {date_text(line.date_to, lang)}",
            "requested": [category_label(c, lang) for c in line.requested],
            "produced": [(category_label(c, lang), number(rows, lang)) for c, rows in line.produced],
        }
        for line in doc.scope
    ]
    exclusions = [
        (line.customer_key, category_label(category, lang), exclusion_reason.get(reason, reason))
        for line in doc.scope
        for category, reason in line.exclusions
    ]
    manifest = [
        {"name": e.name, "rows": number(e.rows, lang), "size": number(e.size, lang), "sha256": e.sha256}
        for e in doc.manifest
    ]
    custody = [
        {
            "seq": number(e.seq, lang),
            "time": e.occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "action": e.action,
            "actor": e.actor,
            "hash": e.hash,
        }
        for e in doc.custody
    ]
    return render_to_string(
        "package/front.html",
        {
            **_common(doc),
            "doc": doc,
            "instrument": instrument_label(doc.instrument, lang),
            "issued_on": date_text(doc.issued_on, lang),
            "received_on": date_text(doc.received_on, lang),
            "generated_at": date_text(doc.generated_at.date(), lang),
            "scope": scope,
            "exclusions": exclusions,
            "manifest": manifest,
            "custody": custody,
            "sections": sections,
        },
    )


def front_cost(doc: PackageDocument, sections: Sequence[str]) -> float:
    """The estimated cost of a part of the front matter made of ``sections``."""
    cost = PART_COST
    if COVER in sections:
        lines = len(doc.scope) + sum(len(line.exclusions) for line in doc.scope)
        cost += COVER_COST + SCOPE_LINE_COST * lines
    if MANIFEST in sections:
        cost += MANIFEST_ENTRY_COST * len(doc.manifest)
    if CUSTODY in sections:
        cost += CUSTODY_EVENT_COST * len(doc.custody)
    return cost


@dataclass(frozen=True)
class _TableSlice:
    heading: str
    note: str
    columns: list[str]
    rows: list[list[tuple[str, str]]]


def _table_note(table: PrintedTable, language: str) -> str:
    w = WORDING[language]
    template = w["first_rows"] if table.total_rows > len(table.rows) else w["all_rows"]
    return template.format(
        printed=number(len(table.rows), language),
        total=number(table.total_rows, language),
        name=ltr(table.attachment),
    )


def row_cost(row: Sequence[str]) -> float:
    return ROW_COST + CHAR_COST * sum(len(cell) for cell in row)


def printed_cost(doc: PackageDocument) -> float:
    """The estimated cost of the printed tables (``PART_COST`` per chunk aside)."""
    return sum(TABLE_COST + sum(row_cost(row) for row in table.rows or []) for table in doc.tables)


def table_chunks(
    doc: PackageDocument, chunk_rows: int, chunk_cost: float = float("inf")
) -> list[list[_TableSlice]]:
    """Cut the printed tables into chunks of at most ``chunk_rows`` rows and about
    ``chunk_cost`` of estimated cost (a remainder under ``MIN_CHUNK_COST`` stays with the chunk
    before it), each a list of slices."""
    # Where to cut: (table index, row index) of each chunk's first row after the first.
    remaining = printed_cost(doc)
    cuts: set[tuple[int, int]] = set()
    rows_in, cost_in = 0, 0.0
    for t, table in enumerate(doc.tables):
        rows = table.rows or []
        costs = [TABLE_COST + (row_cost(rows[0]) if rows else 0.0)] + [row_cost(r) for r in rows[1:]]
        for r, cost in enumerate(costs):
            full = rows_in >= chunk_rows or cost_in >= chunk_cost
            if rows_in and full and remaining >= MIN_CHUNK_COST:
                cuts.add((t, r))
                rows_in, cost_in = 0, 0.0
            rows_in += 1
            cost_in += cost
            remaining -= cost
    chunks: list[list[_TableSlice]] = []
    current: list[_TableSlice] = []
    for t, table in enumerate(doc.tables):
        heading = f"{ltr(table.customer_key)} — {category_label(table.category, doc.language)}"
        note = _table_note(table, doc.language)
        rows = table.rows or []
        starts = [0, *(r for r in range(1, len(rows)) if (t, r) in cuts), len(rows)]
        if (t, 0) in cuts:
            chunks.append(current)
            current = []
        for start, end in itertools.pairwise(starts):
            if start and (t, start) in cuts:
                chunks.append(current)
                current = []
            take = [[cell_with_direction(cell) for cell in row] for row in rows[start:end]]
            current.append(_TableSlice(heading, note if start == 0 else "", table.columns, take))
    if current:
        chunks.append(current)
    return chunks


def chunk_html(doc: PackageDocument, slices: Sequence[_TableSlice], *, first: bool) -> str:
    return render_to_string(
        "package/tables.html",
        {**_common(doc), "tables": slices, "first": first, "title": doc.package_id},
    )


def stamp_html(doc: PackageDocument, pages: Iterable[int], total: int) -> str:
    w = WORDING[doc.language]
    labels = [
        w["page"].format(page=number(p, doc.language), pages=number(total, doc.language)) for p in pages
    ]
    return render_to_string("package/stamp.html", {**_common(doc), "labels": labels})


# --- WeasyPrint, in child processes ---------------------------------------------------------

_fonts: Any = None  # this process's weasyprint FontConfiguration (font_config)
_preloaded = False


def font_config() -> Any:
    """The one font configuration of this process, shared by every part it renders and
    inherited by the render children it forks. WeasyPrint otherwise makes a new one per
    document: fontconfig loaded again, the package's fonts registered again, and Pango's and
    HarfBuzz's caches of them started cold, a fixed ~40 ms and more per part. The ``@font-face``
    rules of the package's templates are the same in every part, so the fonts are registered
    once, by the first document that names them."""
    global _fonts
    if _fonts is None:
        from weasyprint.text.fonts import FontConfiguration

        _fonts = FontConfiguration()
    return _fonts


def preload() -> None:
    """What every render needs and no render should pay for: WeasyPrint and its libraries
    (Pango, fontconfig, fontTools) loaded, and the shared font configuration warmed by a small
    package of each language rendered once through the package's own templates (both weights,
    the hash font, Persian and Latin text, every kind of part). A worker calls it when it starts
    (``workflow.tasks``), so that the render children it forks for each package inherit it all;
    what a package's render allocates still goes with its children. A process that renders a
    package without having called it calls it then: the fonts must be registered here, in the
    shared configuration, not by each child (which would leave its copies of them behind)."""
    global _preloaded
    if _preloaded:
        return
    for language in ("fa", "en"):
        doc = _warmup_document(language)
        with translation.override(language):
            chunks = table_chunks(doc, 10**6)
            for html in (
                *(front_html(doc, sections) for sections in FRONT_PARTS),
                chunk_html(doc, chunks[0], first=True),
                stamp_html(doc, range(1, 3), 2),
            ):
                render_part(html)
    gc.collect()
    _preloaded = True


def _warmup_document(language: str) -> PackageDocument:
    from .document import CustodyEvent, ManifestEntry, ScopeLine

    day = dt.date(2025, 3, 20)
    at = dt.datetime(2025, 3, 22, 9, 0, tzinfo=dt.UTC)
    rows = [
        [
            "access_log",
            "2024-03-20T00:03:02+00:00",
            f"2a01:5ec0:88c4:dc61::ba{i:02d}",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)",
            "e722bbfa69852c6d77826693a1e09c15",
            "مریم رضایی، تهران، خیابان ولیعصر، پلاک ۱۲",
            '=HYPERLINK("http://example.invalid/")',
        ]
        for i in range(4)
    ]
    return PackageDocument(
        language=language,
        package_id="PKG-WARM-WARM-WARM",
        store_name="سرای پارسیان" if language == "fa" else "Saray-e Parsian",
        authority_name="شعبهٔ ۱۲ دادگاه عمومی تهران" if language == "fa" else "Tehran General Court",
        instrument="court_order",
        authority_reference="9903-1402-123",
        order_reference="DO-WARM-0001",
        issued_on=day,
        received_on=day,
        generated_at=at,
        requested_from=day,
        requested_to=day,
        scope=[ScopeLine("store:1", ["identity", "review"], [("identity", 4)], day, day,
                         [("review", "third_party")])],
        manifest=[ManifestEntry("store-1/identity.jsonl", "store:1", "identity", "jsonl", 4, "ab" * 32,
                                1024)],
        custody=[CustodyEvent(1, at, "order.received", "user:1", "cd" * 32)],
        attachments=[],
        tables=[
            PrintedTable("store:1", "network_activity", "store-1/network_activity.jsonl",
                         ["_table", "at", "ip", "user_agent", "cookie_id", "name", "body"], rows, 100),
        ],
        third_party_justification="—",
    )  # fmt: skip


def render_part(html: str, part: int | None = None) -> tuple[bytes, int]:
    """One part's PDF/A-3b bytes and its page count (known from the layout, so the parent
    need not open the PDF again to count). Runs in a render child, which reports the page count
    of part number ``part`` as soon as it is laid out, before writing it (``_LayoutReports``)."""
    import weasyprint

    document = weasyprint.HTML(string=html, base_url=str(font_dir())).render(font_config=font_config())
    if part is not None and _reports is not None:
        _reports.send(part, len(document.pages))
    result = document.write_pdf(pdf_variant=PDF_VARIANT)
    assert result is not None
    return bytes(result), len(document.pages)


def write_pdf(html: str) -> bytes:
    """One WeasyPrint call, PDF/A-3b. Runs in a render child."""
    return render_part(html)[0]


_MIME = {".jsonl": "application/jsonl", ".json": "application/json", ".csv": "text/csv"}


def attach(package: pikepdf.Pdf, attachments: Sequence[AttachedFile]) -> None:
    """Embed every file as a PDF/A-3 associated file (relationship Data, listed in /AF).

    Done here with qpdf rather than by WeasyPrint: WeasyPrint hashes and compresses embedded
    files in Python, which for a 100,000-row customer costs more than rendering the document.
    A file the extraction already deflated is embedded from that copy as is (qpdf leaves a
    FlateDecode stream alone): no file is read back, hashed or compressed a second time.
    """
    now = dt.datetime.now(dt.UTC).strftime("D:%Y%m%d%H%M%SZ")
    associated = package.Root.get("/AF") or pikepdf.Array()
    for item in attachments:
        ready = item.deflated is not None and item.deflated.exists()
        spec = pikepdf.AttachedFileSpec(
            package,
            b"" if ready else item.path.read_bytes(),
            description=item.description,
            filename=item.name,
            mime_type=_MIME.get(item.path.suffix, "application/octet-stream"),
            creation_date=now,
            mod_date=now,
        )
        if ready:
            assert item.deflated is not None
            embedded = spec.obj.EF.F
            embedded.write(item.deflated.read_bytes(), filter=pikepdf.Name.FlateDecode)
            embedded.Params.Size = item.path.stat().st_size
            embedded.Params.CheckSum = pikepdf.String(bytes.fromhex(item.md5))
        spec.obj.AFRelationship = pikepdf.Name.Data
        package.attachments[item.name] = spec
        associated.append(spec.obj)
    package.Root.AF = package.make_indirect(associated) if not associated.is_indirect else associated


class _LayoutReports:
    """Page counts sent by the render children to the process that renders the package, as
    each part is laid out: the page-number stamps, which need the total, can be rendered while
    the last parts are still being written. A pipe shared by the children (each message one
    atomic write, under a lock all the same)."""

    def __init__(self, context: Any) -> None:
        self._reader, self._writer = context.Pipe(duplex=False)
        self._lock = context.Lock()

    def send(self, part: int, pages: int) -> None:
        with self._lock:
            self._writer.send((part, pages))

    def receive(self, timeout: float) -> tuple[int, int] | None:
        if not self._reader.poll(timeout):
            return None
        part, pages = self._reader.recv()
        return int(part), int(pages)

    def close(self) -> None:
        self._reader.close()
        self._writer.close()


_reports: _LayoutReports | None = None  # in a render child: where it reports its layouts


def _render_child(reports: _LayoutReports | None) -> None:
    """A render child starts here. What it inherited (Django, WeasyPrint, the warm fonts) is
    moved out of the garbage collector's reach, so that the collections of a render never walk
    it, which would cost time and copy every page of it into the child (copy-on-write)."""
    global _reports
    _reports = reports
    gc.freeze()


@contextlib.contextmanager
def render_pool(processes: int, reports: _LayoutReports | None = None) -> Iterator[ProcessPoolExecutor]:
    """A pool of render processes for one package: its memory goes back to the system when the
    package is done. fork: the children inherit Django's settings, templates and WeasyPrint
    already loaded. Leaving the block on an error cancels the parts not yet started."""
    process = multiprocessing.current_process()
    # A Celery prefork child is marked daemonic, and multiprocessing refuses children to a
    # daemon; the pool is shut down (its children joined) before this block ends, which is
    # what the rule protects, so the mark is lifted for the pool's lifetime only.
    daemonic = process._config.get("daemon", False)  # type: ignore[attr-defined]
    process._config["daemon"] = False  # type: ignore[attr-defined]
    try:
        pool = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_render_child,
            initargs=(reports,),
        )
        try:
            yield pool
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    finally:
        process._config["daemon"] = daemonic  # type: ignore[attr-defined]


def _collect(futures: Sequence[Future[Any]], what: str) -> list[Any]:
    out = []
    for index, future in enumerate(futures):
        try:
            out.append(future.result())
        except Exception as err:
            raise RenderError(f"rendering {what} {index + 1} failed: {type(err).__name__}: {err}") from err
    return out


def open_package(first: bytes, attachments: Sequence[AttachedFile] = ()) -> pikepdf.Pdf:
    """The package's first part (whose catalog — XMP metadata, output intent — the package
    keeps) with every attachment embedded: the render process does this while its children
    render the other parts."""
    package = pikepdf.open(io.BytesIO(first))
    try:
        attach(package, attachments)
    except BaseException:
        package.close()
        raise
    return package


def merge(
    parts: Sequence[bytes],
    stamps: Sequence[bytes],
    attachments: Sequence[AttachedFile] = (),
    *,
    package: pikepdf.Pdf | None = None,
) -> bytes:
    """Append every part's pages to the first, overlay page i of the stamps on page i, with the
    attachments embedded. ``package``: the first part already opened with them (open_package)."""
    with package or open_package(parts[0], attachments) as package:
        opened = [pikepdf.open(io.BytesIO(part)) for part in parts[1:]]
        stamp_pdfs = [pikepdf.open(io.BytesIO(s)) for s in stamps]
        try:
            for other in opened:
                package.pages.extend(other.pages)
            stamp_pages: list[pikepdf.Page] = []
            for stamp in stamp_pdfs:
                stamp_pages.extend(stamp.pages)
            if len(stamp_pages) != len(package.pages):
                raise RenderError(
                    f"page stamps ({len(stamp_pages)}) do not match pages ({len(package.pages)})"
                )
            for page, stamp_page in zip(package.pages, stamp_pages, strict=True):
                page.add_overlay(stamp_page, pikepdf.Rectangle(*(float(v) for v in page.mediabox)))
            out = io.BytesIO()
            # qpdf's own file identifier (the trailer /ID PDF/A asks for), not one hashed from
            # the whole output: that costs a second pass over the attachments, on the build's
            # serial tail, and a package is never the same bytes twice anyway (its dates).
            package.save(out)
        finally:
            for other in [*opened, *stamp_pdfs]:
                other.close()
    return out.getvalue()


def page_count(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return len(document.pages)


def render_package(
    doc: PackageDocument,
    *,
    chunk_rows: int | None = None,
    processes: int | None = None,
    progress: ProgressCallback | None = None,
    while_rendering: Callable[[], None] | None = None,
) -> bytes:
    """The package's PDF/A-3b bytes (unsigned: it is sealed at release), in the order's
    language whatever the language of the request or worker that builds it. ``while_rendering``
    is run by this process while its render children lay out the parts (an error it raises
    ends the render)."""
    with PackageRender(chunk_rows=chunk_rows, processes=processes) as renderer:
        return renderer.render(doc, progress=progress, while_rendering=while_rendering)


_CUSTODY_PART = FRONT_PARTS.index((CUSTODY,))


@dataclass
class _Part:
    cost: float
    html: Callable[[], str]
    number: int = -1
    future: "Future[Any] | None" = None


@dataclass
class PackageRender:
    """The render of one package, in a pool of render processes of its own (``render_pool``),
    which may start before the document is complete: ``render_ahead`` starts the pool and in it
    the parts that do not depend on the extracted data while the extraction runs, and
    ``render`` renders the rest of the complete document in the same processes and merges it.
    The pool is forked before the extraction starts its threads, and its fork is not on the
    way from the extracted data to the PDF. A part rendered ahead is used only if the complete
    document gives exactly the same HTML for it (else it is rendered again)."""

    chunk_rows: int | None = None
    processes: int | None = None
    _pool: ProcessPoolExecutor | None = None
    _reports: _LayoutReports | None = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _ahead: dict[str, _Part] = field(default_factory=dict)
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    def __enter__(self) -> "PackageRender":
        import weasyprint  # noqa: F401 — loaded once in the parent, so forked children share it

        self.processes = self.processes or settings.PACKAGE_RENDER_PROCESSES
        self.chunk_rows = self.chunk_rows or settings.PACKAGE_CHUNK_ROWS
        preload()  # the fonts registered before the fork, so that every child shares them
        self._reports = _LayoutReports(multiprocessing.get_context("fork"))
        self._stack.callback(self._reports.close)
        return self

    def __exit__(self, *exc: object) -> bool | None:
        self._pool = None
        return self._stack.__exit__(*exc)  # type: ignore[arg-type]

    def _started(self) -> ProcessPoolExecutor:
        """The package's render processes, started by the first part submitted."""
        if self._reports is None:
            raise RuntimeError("PackageRender is used outside its with block")
        if self._pool is None:
            assert self.processes is not None
            self._pool = self._stack.enter_context(render_pool(self.processes, self._reports))
        return self._pool

    def _submit(self, part: _Part, html: str) -> None:
        part.number = next(self._numbers)
        part.future = self._started().submit(render_part, html, part.number)

    def render_ahead(self, doc: PackageDocument) -> None:
        """Start rendering the chain of custody of ``doc`` (what the order's trail holds now)."""
        with translation.override(doc.language):
            html = front_html(doc, FRONT_PARTS[_CUSTODY_PART])
        part = _Part(0.0, lambda: html)
        self._submit(part, html)
        self._ahead[html] = part

    def raise_for_failure(self) -> None:
        """Raise RenderError now if a part rendered ahead has failed (the build stops at once,
        instead of after the extraction)."""
        for part in self._ahead.values():
            if part.future is not None and part.future.done() and not part.future.cancelled():
                _collect([part.future], "the chain of custody, rendered ahead,")

    def render(
        self,
        doc: PackageDocument,
        *,
        progress: ProgressCallback | None = None,
        while_rendering: Callable[[], None] | None = None,
    ) -> bytes:
        with translation.override(doc.language):
            return self._render(doc, progress=progress, while_rendering=while_rendering)

    def _parts(self, doc: PackageDocument) -> list[_Part]:
        """The parts in their order, each with its estimated cost (none for the chain of custody
        when it was rendered ahead); the tables cut so that, with the front matter and each
        chunk's fixed cost counted in, each render process gets an equal share."""
        assert self.processes is not None
        assert self.chunk_rows is not None

        def front(sections: Sequence[str]) -> Callable[[], str]:
            return lambda: front_html(doc, sections)

        parts = [_Part(front_cost(doc, sections), front(sections)) for sections in FRONT_PARTS]
        if self._ahead:
            parts[_CUSTODY_PART].cost = 0.0
        # A process's share: the tables, a fixed cost per chunk and the front matter, divided
        # equally; a chunk's rows fill a share less that chunk's fixed cost.
        rows_share = (printed_cost(doc) + sum(p.cost for p in parts)) / self.processes
        chunks = table_chunks(doc, self.chunk_rows, max(rows_share, MIN_CHUNK_COST)) if doc.tables else []

        def chunk(slices: list[_TableSlice], first: bool) -> Callable[[], str]:
            return lambda: chunk_html(doc, slices, first=first)

        for index, slices in enumerate(chunks):
            cost = PART_COST + sum(
                (TABLE_COST if s.note or not s.rows else 0.0)
                + sum(row_cost([text for text, _direction in row]) for row in s.rows)
                for s in slices
            )
            parts.append(_Part(cost, chunk(slices, index == 0)))
        return parts

    def _page_counts(self, parts: Sequence[_Part]) -> list[int] | None:
        """Every part's page count, as soon as the last part is laid out (before it is written);
        None if a part failed (``_collect`` then says which)."""
        assert self._reports is not None
        counts: dict[int, int] = {}
        wanted = {part.number for part in parts}
        while not wanted <= counts.keys():
            for part in parts:
                if part.number not in counts and part.future is not None and part.future.done():
                    if part.future.cancelled() or part.future.exception() is not None:
                        return None
                    counts[part.number] = part.future.result()[1]
            # A report ends the wait at once; the timeout only bounds how late a failed part,
            # which sends none, is noticed (a shorter one spins beside the children at work).
            report = self._reports.receive(timeout=LAYOUT_WAIT_SECONDS)
            if report is not None:
                counts[report[0]] = report[1]
        return [counts[part.number] for part in parts]

    def _render(
        self,
        doc: PackageDocument,
        *,
        progress: ProgressCallback | None = None,
        while_rendering: Callable[[], None] | None = None,
    ) -> bytes:
        assert self.processes is not None
        parts = self._parts(doc)
        pool = self._started()
        custody = _CUSTODY_PART
        # Largest parts first, so that the small ones fill in beside them; each part's HTML is
        # made just before it is submitted, so that the first child starts at once. Merged in order.
        for part in sorted(parts, key=lambda p: -p.cost):
            if part is not parts[custody] or not self._ahead:
                self._submit(part, part.html())
        if self._ahead:
            html = parts[custody].html()
            ahead = self._ahead.pop(html, None)
            if ahead is not None:
                parts[custody] = ahead
            else:  # the trail changed since: rendered again
                self._submit(parts[custody], html)
            for stale in self._ahead.values():
                if stale.future is not None:
                    stale.future.cancel()
            self._ahead.clear()
        if while_rendering is not None:
            while_rendering()
        # The stamps are started once every part is laid out, beside the last ones' writing.
        counts = self._page_counts(parts)
        stamp_futures: list[Future[Any]] = []
        if counts is not None:
            total = sum(counts)
            # Shared among the processes free now (the others are writing their last parts).
            writing = sum(1 for p in parts if p.future is not None and not p.future.done())
            free = max(self.processes - writing, 1)
            per_job = max(min(STAMP_PAGES_PER_JOB, -(-total // free)), 1)
            stamp_futures = [
                pool.submit(write_pdf, stamp_html(doc, range(s, min(s + per_job, total + 1)), total))
                for s in range(1, total + 1, per_job)
            ]
        # Meanwhile the first part, with the attachments embedded, is made the package.
        first = _collect([p.future for p in parts[:1] if p.future is not None], "part")
        package = open_package(first[0][0], doc.attachments)
        try:
            rendered = _collect([p.future for p in parts if p.future is not None], "part")
            if progress:
                progress(80)
            stamps = _collect(stamp_futures, "page-number stamp")
        except BaseException:
            package.close()
            raise
        # Every part is in: the render processes exit (and give their memory back) while this
        # one merges, instead of after it (the pool is joined when the package's render ends).
        pool.shutdown(wait=False)
        if progress:
            progress(90)
        return merge([pdf for pdf, _pages in rendered], stamps, package=package)

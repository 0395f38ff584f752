"""Rendering a package: a ``PackageDocument`` in, PDF/A-3b bytes out (DESIGN §3).

Pure: no models, no storage. The document is rendered in parts so that a long one is rendered
in parallel and no single WeasyPrint call grows with the data:

* the front matter (cover letter, scope, manifest, chain of custody) with every attachment
  embedded — its catalog (XMP, output intent, embedded files) becomes the package's;
* the printed tables, cut into chunks of ``chunk_rows`` rows;
* a page-number stamp ("page x of y") overlaid once the page count is known.

Each part is rendered in a child process of a pool that lives for one package only, so the
memory WeasyPrint takes is returned to the system when the package is done, whatever worker
runs the build. The parts are merged with pikepdf.
"""

import contextlib
import datetime as dt
import io
import logging
import multiprocessing
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
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
# A part costs a fixed ~50 ms (parsing, styles, fonts) besides its rows (~13 ms a row of the
# heavy customer's access log); smaller chunks than this cost more than they save.
MIN_CHUNK_ROWS = 20
# The front matter (cover, scope, manifest, chain of custody) takes about as long to render as
# this many printed rows: the processes' shares are balanced with it counted in.
FRONT_ROWS = 35
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


def front_html(doc: PackageDocument) -> str:
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
        },
    )


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


def table_chunks(doc: PackageDocument, chunk_rows: int) -> list[list[_TableSlice]]:
    """Cut the printed tables into chunks of about ``chunk_rows`` rows, each a list of slices."""
    chunks: list[list[_TableSlice]] = []
    current: list[_TableSlice] = []
    room = chunk_rows
    for table in doc.tables:
        heading = f"{ltr(table.customer_key)} — {category_label(table.category, doc.language)}"
        note = _table_note(table, doc.language)
        start = 0
        rows = table.rows or []
        while True:
            take = [[cell_with_direction(cell) for cell in row] for row in rows[start : start + room]]
            current.append(_TableSlice(heading, note if start == 0 else "", table.columns, take))
            start += len(take)
            room -= max(len(take), 1)
            if room <= 0:
                chunks.append(current)
                current, room = [], chunk_rows
            if start >= len(rows):
                break
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


def preload() -> None:
    """What every render needs and no render should pay for: WeasyPrint and its libraries
    (Pango, fontconfig, fontTools) loaded and the package's fonts found once. A worker calls it
    when it starts (``workflow.tasks``), so that the render children it forks inherit it all."""
    import weasyprint

    html = (
        "<html><head><style>"
        f'@font-face {{ font-family: "Vazirmatn"; src: url("{font_dir().as_uri()}/Vazirmatn-Regular.ttf"); }}'
        'html { font-family: "Vazirmatn"; }</style></head><body>۱ a</body></html>'
    )
    weasyprint.HTML(string=html, base_url=str(font_dir())).write_pdf(pdf_variant=PDF_VARIANT)


def render_part(html: str) -> tuple[bytes, int]:
    """One part's PDF/A-3b bytes and its page count (known from the layout, so the parent
    need not open the PDF again to count). Runs in a render child."""
    import weasyprint

    document = weasyprint.HTML(string=html, base_url=str(font_dir())).render()
    result = document.write_pdf(pdf_variant=PDF_VARIANT)
    assert result is not None
    return bytes(result), len(document.pages)


def write_pdf(html: str) -> bytes:
    """One WeasyPrint call, PDF/A-3b. Runs in a render child."""
    import weasyprint  # imported by the parent before the fork (render_package): free here

    result = weasyprint.HTML(string=html, base_url=str(font_dir())).write_pdf(pdf_variant=PDF_VARIANT)
    assert result is not None
    return bytes(result)


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


@contextlib.contextmanager
def render_pool(processes: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of render processes for one package: its memory goes back to the system when the
    package is done. fork: the children inherit Django's settings, templates and WeasyPrint
    already loaded."""
    process = multiprocessing.current_process()
    # A Celery prefork child is marked daemonic, and multiprocessing refuses children to a
    # daemon; the pool is shut down (its children joined) before this block ends, which is
    # what the rule protects, so the mark is lifted for the pool's lifetime only.
    daemonic = process._config.get("daemon", False)  # type: ignore[attr-defined]
    process._config["daemon"] = False  # type: ignore[attr-defined]
    try:
        with ProcessPoolExecutor(
            max_workers=processes, mp_context=multiprocessing.get_context("fork")
        ) as pool:
            yield pool
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


def merge(parts: Sequence[bytes], stamps: Sequence[bytes], attachments: Sequence[AttachedFile] = ()) -> bytes:
    """Append every part's pages to the first (whose catalog — XMP metadata, output intent —
    the package keeps), overlay page i of the stamps on page i, and embed the attachments."""
    with pikepdf.open(io.BytesIO(parts[0])) as package:
        opened = [pikepdf.open(io.BytesIO(part)) for part in parts[1:]]
        try:
            for other in opened:
                package.pages.extend(other.pages)
            stamp_pages: list[pikepdf.Page] = []
            stamp_pdfs = [pikepdf.open(io.BytesIO(s)) for s in stamps]
            for stamp in stamp_pdfs:
                stamp_pages.extend(stamp.pages)
            if len(stamp_pages) != len(package.pages):
                raise RenderError(
                    f"page stamps ({len(stamp_pages)}) do not match pages ({len(package.pages)})"
                )
            for page, stamp_page in zip(package.pages, stamp_pages, strict=True):
                page.add_overlay(stamp_page, pikepdf.Rectangle(*(float(v) for v in page.mediabox)))
            attach(package, attachments)
            out = io.BytesIO()
            package.save(out, deterministic_id=True)
            for stamp in stamp_pdfs:
                stamp.close()
        finally:
            for other in opened:
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
    with translation.override(doc.language):
        return _render_package(
            doc,
            chunk_rows=chunk_rows,
            processes=processes,
            progress=progress,
            while_rendering=while_rendering,
        )


def _render_package(
    doc: PackageDocument,
    *,
    chunk_rows: int | None = None,
    processes: int | None = None,
    progress: ProgressCallback | None = None,
    while_rendering: Callable[[], None] | None = None,
) -> bytes:
    chunk_rows = chunk_rows or settings.PACKAGE_CHUNK_ROWS
    processes = processes or settings.PACKAGE_RENDER_PROCESSES
    import weasyprint  # noqa: F401 — loaded once in the parent, so forked children share it

    printed = sum(len(table.rows) for table in doc.tables)
    # At most chunk_rows per chunk, and an equal share of the work per process, the front
    # matter counted in: with two processes and a short package, one renders the front matter
    # and a small chunk while the other renders the rest, instead of idling beside the tables.
    share = -(-(printed + FRONT_ROWS) // processes)
    chunk_rows = max(min(chunk_rows, share), MIN_CHUNK_ROWS)
    if printed - chunk_rows < MIN_CHUNK_ROWS:
        chunk_rows = max(printed, 1)  # a remainder that small is not worth a part of its own
    chunks = table_chunks(doc, chunk_rows) if doc.tables else []
    parts = [(FRONT_ROWS, front_html(doc))]
    parts += [
        (sum(len(s.rows) for s in slices), chunk_html(doc, slices, first=index == 0))
        for index, slices in enumerate(chunks)
    ]
    with render_pool(processes) as pool:
        # Largest parts first, so that the small ones fill in beside them; merged in order.
        futures: list[Future[Any] | None] = [None] * len(parts)
        for index in sorted(range(len(parts)), key=lambda i: -parts[i][0]):
            futures[index] = pool.submit(render_part, parts[index][1])
        if while_rendering is not None:
            while_rendering()
        rendered = _collect([f for f in futures if f is not None], "part")
        if progress:
            progress(80)
        pdfs = [pdf for pdf, _pages in rendered]
        total = sum(pages for _pdf, pages in rendered)
        per_job = max(min(STAMP_PAGES_PER_JOB, -(-total // processes)), 1)
        stamp_futures = [
            pool.submit(write_pdf, stamp_html(doc, range(s, min(s + per_job, total + 1)), total))
            for s in range(1, total + 1, per_job)
        ]
        stamps = _collect(stamp_futures, "page-number stamp")
    if progress:
        progress(90)
    return merge(pdfs, stamps, doc.attachments)

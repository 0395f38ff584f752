"""What the package says and how it looks (issue 4, §2). Rendering is pure: no database."""

import dataclasses
import datetime as dt
import hashlib
import io
import json
import multiprocessing
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from django.utils import translation

from workflow.package import render
from workflow.package.document import (
    AttachedFile,
    CustodyEvent,
    ManifestEntry,
    PackageDocument,
    PrintedTable,
    ScopeLine,
)
from workflow.package.render import render_package


def document(tmp_path: Path, *, language: str, rows: int, printed: int) -> PackageDocument:
    attachment = tmp_path / "identity.jsonl"
    attachment.write_text("".join(json.dumps({"row": i}) + "\n" for i in range(rows)))
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{}")
    table_rows = [
        [str(i), "زهرا احمدی", f"zahra.{i}@example.ir", "تهران، خیابان ولیعصر"] for i in range(printed)
    ]
    return PackageDocument(
        language=language,
        package_id="PKG-ABCD-EFGH-JKMN",
        store_name="سرای پارسیان" if language == "fa" else "Saray-e Parsian",
        authority_name="شعبهٔ ۱۲ دادگاه عمومی تهران"
        if language == "fa"
        else "Tehran General Court, Branch 12",
        instrument="court_order",
        authority_reference="9903-1402-123",
        order_reference="DO-7K3F-9Q2M",
        issued_on=dt.date(2025, 3, 20),
        received_on=dt.date(2025, 3, 22),
        generated_at=dt.datetime(2025, 3, 23, 8, 0, tzinfo=dt.UTC),
        requested_from=dt.date(2024, 1, 1),
        requested_to=dt.date(2024, 12, 31),
        scope=[
            ScopeLine(
                "store:1",
                ["identity", "third_party_recipient"],
                [("identity", rows)],
                dt.date(2024, 1, 1),
                dt.date(2024, 12, 31),
                [("third_party_recipient", "third_party")],
            )
        ],
        manifest=[
            ManifestEntry(
                "store-1/identity.jsonl",
                "store:1",
                "identity",
                "jsonl",
                rows,
                hashlib.sha256(attachment.read_bytes()).hexdigest(),
                attachment.stat().st_size,
            )
        ],
        custody=[
            CustodyEvent(
                1, dt.datetime(2025, 3, 22, 9, 0, tzinfo=dt.UTC), "order.received", "user:1", "ab" * 32
            )
        ],
        attachments=[
            AttachedFile("store-1/identity.jsonl", attachment, "identity"),
            AttachedFile("manifest.json", manifest, "manifest"),
        ],
        tables=[
            PrintedTable(
                "store:1",
                "identity",
                "store-1/identity.jsonl",
                ["row", "name", "email", "address"],
                table_rows,
                rows,
            )
        ],
    )


def pdf_text(pdf: bytes, tmp_path: Path, *, first: int | None = None, last: int | None = None) -> list[str]:
    """The text of each page, as poppler lays it out (in visual order)."""
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    pages = []
    count = int(next(line.split()[-1] for line in _pdfinfo(path) if line.startswith("Pages:")))
    for page in range(first or 1, (last or count) + 1):
        done = subprocess.run(
            ["pdftotext", "-f", str(page), "-l", str(page), str(path), "-"],
            capture_output=True,
            text=True,
            check=True,
        )
        # poppler marks the direction of runs with embedding controls; the words are what count.
        pages.append(done.stdout.translate({c: None for c in range(0x202A, 0x202F)}))
    return pages


def _pdfinfo(path: Path) -> list[str]:
    return subprocess.run(
        ["pdfinfo", str(path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()


@pytest.fixture(scope="module")
def persian_pdf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    tmp = tmp_path_factory.mktemp("fa")
    return render_package(document(tmp, language="fa", rows=500, printed=120), chunk_rows=50)


def test_a_persian_package_has_its_cover_in_persian_with_jalali_dates_and_persian_digits(
    persian_pdf: bytes, tmp_path: Path
) -> None:
    cover = pdf_text(persian_pdf, tmp_path, first=1, last=1)[0]
    assert "تاریخ صدور" in cover
    assert "۱۴۰۳/۱۲/۳۰" in cover  # 20 March 2025, the last day of 1403
    assert "۲۰۲۵/۰۳/۲۰" in cover
    assert "PKG-ABCD-EFGH-JKMN" in cover


def test_identifiers_keep_their_left_to_right_order_in_right_to_left_text(
    persian_pdf: bytes, tmp_path: Path
) -> None:
    pages = pdf_text(persian_pdf, tmp_path)
    assert all("9903-1402-123" in page for page in pages), "the reference in the footer of every page"
    assert not any("123-1402-9903" in page for page in pages)
    assert "DO-7K3F-9Q2M" in pages[0]


def test_every_page_is_numbered_x_of_y_across_parallel_chunks(persian_pdf: bytes, tmp_path: Path) -> None:
    pages = pdf_text(persian_pdf, tmp_path)
    total = len(pages)
    assert total > 4  # cover, manifest, custody, and tables cut into chunks of 50 rows
    digits = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    for number, text in enumerate(pages, start=1):
        compact = "".join(text.split())  # poppler spaces right-to-left runs loosely
        assert f"{str(number).translate(digits)}از{str(total).translate(digits)}" in compact


def test_long_categories_print_their_first_rows_and_say_all_rows_are_attached(tmp_path: Path) -> None:
    pdf = render_package(document(tmp_path, language="en", rows=500, printed=20))
    text = "\n".join(pdf_text(pdf, tmp_path))
    assert (
        "The first 20 of 500 rows are printed; all 500 rows are in the attachment store-1/identity.jsonl."
        in text
    )
    assert "zahra.19@example.ir" in text
    assert "zahra.20@example.ir" not in text


def test_an_english_package_carries_every_section_and_the_confidentiality_line(tmp_path: Path) -> None:
    with translation.override("fa"):  # built by a worker whose interface language is Persian
        pdf = render_package(document(tmp_path, language="en", rows=3, printed=3))
    pages = pdf_text(pdf, tmp_path)
    text = "\n".join(pages)
    for heading in (
        "Cover letter",
        "Scope",
        "Manifest of attachments",
        "Chain of custody",
        "Exclusions and why",
    ):
        assert heading in text
    assert "Third-party recipient data is excluded unless a justification is recorded." in text
    assert "Third-party recipients" in text
    assert "Court order" in text
    assert "2025-03-20 (Jalali 1403/12/30)" in text
    for page in pages:
        assert (
            "Confidential — disclosed to Tehran General Court, Branch 12 under reference 9903-1402-123"
            in page
        )
        assert f"of {len(pages)}" in page


def test_the_package_is_pdf_a_3b_with_its_files_attached_as_data(persian_pdf: bytes) -> None:
    with pikepdf.open(io.BytesIO(persian_pdf)) as pdf:
        metadata = pdf.open_metadata()
        assert metadata.pdfa_status == "3B"
        assert len(pdf.Root.OutputIntents) == 1
        # PDF/A: the trailer identifies the file (two byte strings, the second new to this file).
        assert len(pdf.trailer.ID) == 2 and all(len(bytes(part)) >= 16 for part in pdf.trailer.ID)
        names = set(pdf.attachments)
        assert names == {"store-1/identity.jsonl", "manifest.json"}
        for spec in pdf.Root.AF:
            assert spec.AFRelationship == "/Data"


def test_the_front_matter_in_parts_reads_and_paginates_as_one_document(tmp_path: Path) -> None:
    """The cover with the scope, the manifest and the chain of custody are rendered as parts
    of their own; each of the last two starts a page, so the pages are those of one document."""
    doc = document(tmp_path, language="en", rows=3, printed=3)
    with translation.override("en"):
        whole = render.write_pdf(render.front_html(doc))
    front = render_package(dataclasses.replace(doc, tables=[]))
    whole_pages = pdf_text(whole, tmp_path)
    package_pages = pdf_text(front, tmp_path)
    assert len(package_pages) == len(whole_pages) == 3
    for number, (alone, in_package) in enumerate(zip(whole_pages, package_pages, strict=True), start=1):
        assert " ".join(in_package.replace(f"Page {number} of 3", "").split()) == " ".join(alone.split())


def test_table_chunks_keep_every_row_once_and_in_order() -> None:
    def table(category: str, rows: int, width: int) -> PrintedTable:
        return PrintedTable("store:1", category, f"{category}.jsonl", ["a", "b"],
                            [[str(i), "x" * width] for i in range(rows)], rows * 10)  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        doc = dataclasses.replace(
            document(Path(tmp), language="en", rows=3, printed=3),
            tables=[table("identity", 30, 10), table("contact", 0, 0), table("review", 12, 400)],
        )
    for chunk_rows, chunk_cost in ((7, float("inf")), (1000, 100.0), (1000, float("inf"))):
        chunks = render.table_chunks(doc, chunk_rows, chunk_cost)
        slices = [s for chunk in chunks for s in chunk]
        printed = [[text for text, _dir in row] for s in slices for row in s.rows]
        assert printed == [row for t in doc.tables for row in t.rows]
        assert sum(1 for s in slices if s.note) == len(doc.tables)  # once per table, on its first slice
        for chunk in chunks[:-1]:
            assert sum(len(s.rows) or 1 for s in chunk) <= chunk_rows
    assert len(render.table_chunks(doc, 1000, 100.0)) > len(render.table_chunks(doc, 1000, float("inf"))) == 1


def test_a_part_rendered_ahead_is_used_only_if_the_document_still_says_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    submitted: list[str] = []
    real_submit = render.PackageRender._submit

    def spy(self: render.PackageRender, part: Any, html: str) -> None:
        submitted.append(html)
        real_submit(self, part, html)

    monkeypatch.setattr(render.PackageRender, "_submit", spy)
    doc = document(tmp_path, language="en", rows=3, printed=3)
    with render.PackageRender() as renderer:
        renderer.render_ahead(doc)
        same = renderer.render(doc)
    assert len(submitted) == len(set(submitted)), "the chain of custody was rendered twice"
    submitted.clear()
    later = CustodyEvent(
        2, dt.datetime(2025, 3, 23, 7, 0, tzinfo=dt.UTC), "order.note_added", "user:2", "ef" * 32
    )
    with render.PackageRender() as renderer:
        renderer.render_ahead(doc)
        changed = renderer.render(dataclasses.replace(doc, custody=[*doc.custody, later]))
    assert sum("Chain of custody" in html for html in submitted) == 2
    assert "order.note_added" not in "\n".join(pdf_text(same, tmp_path))
    assert "order.note_added" in "\n".join(pdf_text(changed, tmp_path))
    assert multiprocessing.active_children() == []


def test_rendering_leaves_no_font_copies_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WeasyPrint copies the fonts it registers into a temporary folder of its font
    configuration; the configuration is shared, so only the rendering process holds one (and
    removes it when it ends), not each render child."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))  # the render children's too (fork)
    render_package(document(tmp_path, language="fa", rows=3, printed=3))
    render_package(document(tmp_path, language="en", rows=3, printed=3))
    assert set(temporary.glob("weasyprint-*")) <= {render.font_config()._folder}


def test_the_render_processes_exit_while_the_package_is_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once every part and stamp is in, the render processes are told to exit, so their memory
    goes back while the parts are merged, not after (the merge is the last step of a build)."""
    alive_during_merge: list[list[Any]] = []
    real_merge = render.merge

    def merge(*args: Any, **kwargs: Any) -> bytes:
        deadline = time.monotonic() + 10
        while multiprocessing.active_children() and time.monotonic() < deadline:
            time.sleep(0.01)
        alive_during_merge.append(multiprocessing.active_children())
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(render, "merge", merge)
    doc = document(tmp_path, language="en", rows=3, printed=3)
    with render.PackageRender() as renderer:
        renderer.render_ahead(doc)
        pdf = renderer.render(doc)
    assert alive_during_merge == [[]], "the render processes outlived their last part"
    assert render.page_count(pdf) >= 2

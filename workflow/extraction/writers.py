"""Writing extracted rows: JSON Lines and CSV files hashed while they are written, with CSV
cells that a spreadsheet would run as formulas neutralised.

The files' format (both extraction paths write it byte for byte, see ``postgresql.py``):
- JSON Lines: one compact object per row (``{"_table":"t","col":value}``, no spaces, UTF-8 as
  is); days and instants in ISO 8601, a fraction of a second without its trailing zeros
  (``10:00:00.5``, as PostgreSQL's ``to_json`` prints it), decimals and UUIDs as strings;
- CSV (RFC 4180, rows ending in ``\n``): every value that is not a number is quoted (text, days,
  instants, UUIDs, the header), numbers and booleans (``True``/``False``) are bare, and NULL is
  an empty unquoted field, so an empty text (``""``) and a missing value stay distinct."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import hashlib
import io
import json
import queue
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from isal import isal_zlib

# A cell beginning with one of these is a formula (or a hidden one after a tab/CR) in Excel,
# LibreOffice and Google Sheets; prefixing a quote makes it plain text (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


_NUMBERS = (int, float, bool, decimal.Decimal)


def csv_text(value: Any) -> Any:
    """A value that is neither text nor a number, as the CSV shows it (neutralised if it is text)."""
    return neutralise_cell(json_safe(value))


def iso_text(value: dt.datetime | dt.date | dt.time) -> str:
    """ISO 8601, with a fraction of a second only as long as it needs to be: ``isoformat()``
    writes six digits (``.500000``), PostgreSQL's ``to_json`` trims the zeros (``.5``), and both
    extraction paths must write the same bytes."""
    text = value.isoformat()
    if getattr(value, "microsecond", 0):
        head, _dot, rest = text.partition(".")  # "…HH:MM:SS" "." "ffffff[+HH:MM[:SS]]"
        text = f"{head}.{rest[:6].rstrip('0')}{rest[6:]}"
    return text


def json_safe(value: Any) -> Any:
    """The value as JSON can carry it: instants and days in ISO 8601, decimals as strings."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return iso_text(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


# Fast deflate: the copy exists to be embedded in a PDF as is (FlateDecode: a zlib stream, which
# any inflater reads). Intel's ISA-L (``isal``) at level 1 (of 0-3) takes ~50 ms of CPU for the
# 47 MB of the 100,000-row customer where zlib's level 1 took ~220 ms, and its stream is
# smaller (8.2 against 9.1 MB); it releases the GIL as zlib does. The build shares two cores.
DEFLATE_LEVEL = 1


class HashedFile:
    """A binary file that knows its SHA-256 and size once closed. With ``deflated``, a zlib
    (FlateDecode) copy is written beside it as the bytes pass, with its MD5 (the PDF embedded
    file checksum): a package embeds that copy without reading and compressing the file again.

    Deflating costs several times what hashing and writing do, so a file with a copy does that
    work in a thread of its own (zlib, hashlib and file writes release the GIL): the JSON and
    CSV files of a category are deflated at once, while the next chunks are being read. At most
    ``QUEUED_CHUNKS`` chunks wait for it: memory stays flat."""

    QUEUED_CHUNKS = 4

    def __init__(self, path: Path, deflated: Path | None = None) -> None:
        self.path = path
        self._file = path.open("wb")
        self._sha = hashlib.sha256()
        self.size = 0
        self.deflated = deflated
        self._deflated_file = deflated.open("wb") if deflated is not None else None
        self._deflate = isal_zlib.compressobj(DEFLATE_LEVEL) if deflated is not None else None
        self._md5 = hashlib.md5(usedforsecurity=False) if deflated is not None else None
        self._error: BaseException | None = None
        self._queue: queue.Queue[bytes | None] | None = None
        self._thread: threading.Thread | None = None
        if deflated is not None:
            self._queue = queue.Queue(maxsize=self.QUEUED_CHUNKS)
            self._thread = threading.Thread(target=self._drain, name=f"deflate {path.name}", daemon=True)
            self._thread.start()

    def write(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        if self._queue is None:
            self._consume(data)
            return
        if self._error is not None:
            raise self._error
        self._queue.put(bytes(data))

    def _consume(self, data: bytes | memoryview) -> None:
        self._file.write(data)
        self._sha.update(data)
        if self._deflate is not None and self._deflated_file is not None and self._md5 is not None:
            self._deflated_file.write(self._deflate.compress(data))
            self._md5.update(data)

    def _drain(self) -> None:
        assert self._queue is not None
        while (data := self._queue.get()) is not None:
            if self._error is None:  # after a failure, keep taking chunks so no writer waits
                try:
                    self._consume(data)
                except BaseException as err:  # raised to the writer, at its next write or close
                    self._error = err

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    @property
    def md5(self) -> str:
        return self._md5.hexdigest() if self._md5 is not None else ""

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            assert self._queue is not None
            self._queue.put(None)
            self._thread.join()
        self._file.close()
        deflating = self._deflated_file is not None and self._deflate is not None
        if deflating and not self._deflated_file.closed:  # type: ignore[union-attr]
            self._deflated_file.write(self._deflate.flush())  # type: ignore[union-attr]
            self._deflated_file.close()  # type: ignore[union-attr]
        if self._error is not None:
            raise self._error

    def __enter__(self) -> HashedFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def csv_writer(buffer: io.StringIO) -> Any:
    """The CSV dialect of every extracted file: every field that is not a number is quoted
    (whatever it holds: a bare carriage return too), numbers are bare. ``None`` would come out
    as ``""``, like an empty text: write ``NULL_CELL`` for it."""
    return csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)


class _NullCell(float):
    """NULL in a CSV row: the writer takes it for a number (so leaves it unquoted) and prints it
    as nothing, where ``None`` would be quoted like an empty text."""

    def __str__(self) -> str:
        return ""

    __repr__ = __str__


NULL_CELL = _NullCell()


class CsvOut:
    """CSV rows into a HashedFile, one batch at a time (the batch's text is the only buffer)."""

    def __init__(self, target: HashedFile, header: Sequence[str]) -> None:
        self.target = target
        self.header = list(header)
        self._buffer = io.StringIO()
        self._writer = csv_writer(self._buffer)
        self._writer.writerow(self.header)
        self.flush()

    def write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Write a batch and flush it. Text cells are neutralised; numbers are left as numbers
        (a leading "-" there is a sign); NULL is an empty field; other values become their
        JSON-safe text first."""
        self._writer.writerows(
            [
                [
                    v
                    if v.__class__ in _NUMBERS
                    else ("'" + v if v.startswith(FORMULA_STARTS) else v)
                    if v.__class__ is str
                    else NULL_CELL
                    if v is None
                    else csv_text(v)
                    for v in row
                ]
                for row in rows
            ]
        )
        self.flush()

    def flush(self) -> None:
        text = self._buffer.getvalue()
        if text:
            self.target.write(text.encode("utf-8"))
            self._buffer.seek(0)
            self._buffer.truncate()


# One encoder for every row: json.dumps with options builds a new encoder per call. Compact
# separators: PostgreSQL's renderer writes the same bytes, and a third of the spaces per row less.
encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=json_safe).encode

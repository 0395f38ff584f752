"""A stand-in for the data map's extraction (issue 3) with the same manifest shape, so that the
package pipeline's tests control the data: rows per category, a slow or failing source.

Set through the environment so that a real worker subprocess sees the same settings:
``FAKE_STORE_ROWS`` (rows per customer × category; customer ``store:0`` has none),
``FAKE_STORE_DELAY`` (seconds the extraction takes), ``FAKE_STORE_FAIL`` (the source fails).
"""

import csv
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FakeFile:
    customer_key: str
    category: str
    fmt: str
    relpath: str
    rows: int
    sha256: str
    size: int


@dataclass
class FakeManifest:
    files: list[FakeFile] = field(default_factory=list)


class StoreUnreachable(Exception):
    pass


def fake_row(customer_key: str, category: str, index: int) -> dict[str, Any]:
    return {
        "customer": customer_key,
        "row": index,
        "name": "زهرا احمدی",
        "email": f"zahra.{index}@example.ir",
        "address": "تهران، خیابان ولیعصر، پلاک ۱۲",
        "ip": f"185.12.{index % 250}.7",
        "at": f"2024-03-{1 + index % 28:02d}T10:15:00+03:30",
        "category": category,
    }


def _file(customer_key: str, category: str, fmt: str, relpath: str, path: Path, rows: int) -> FakeFile:
    data = path.read_bytes()
    return FakeFile(customer_key, category, fmt, relpath, rows, hashlib.sha256(data).hexdigest(), len(data))


def extract(order: Any, *, out_dir: Path, progress: Callable[[int], None] | None = None) -> FakeManifest:
    if os.environ.get("FAKE_STORE_FAIL"):
        raise StoreUnreachable("the store database refused the connection")
    delay = float(os.environ.get("FAKE_STORE_DELAY", "0"))
    rows = int(os.environ.get("FAKE_STORE_ROWS", "3"))
    manifest = FakeManifest()
    items = list(order.scope_items.all())
    for step, item in enumerate(items):
        count = 0 if item.customer_key.endswith(":0") else rows
        for category in item.categories:
            base = f"{item.customer_key.replace(':', '-')}/{category}"
            (out_dir / base).parent.mkdir(parents=True, exist_ok=True)
            records = [fake_row(item.customer_key, category, i) for i in range(count)]
            jsonl = out_dir / f"{base}.jsonl"
            jsonl.write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
            )
            with (out_dir / f"{base}.csv").open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(fake_row("", "", 0)))
                writer.writeheader()
                writer.writerows(records)
            manifest.files.append(_file(item.customer_key, category, "jsonl", f"{base}.jsonl", jsonl, count))
            manifest.files.append(
                _file(item.customer_key, category, "csv", f"{base}.csv", out_dir / f"{base}.csv", count)
            )
        if progress:
            progress(100 * (step + 1) // max(len(items), 1))
    if delay:
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if progress:
                progress(100)
    return manifest

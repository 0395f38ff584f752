"""A small generated store for the data map, matching and extraction tests."""

from dataclasses import dataclass
from pathlib import Path

from workflow.datamap import DataMap, load_datamap
from workflow.store import seed_store


@dataclass
class SeededStore:
    database_url: str
    datamap_path: Path
    datamap: DataMap


def seed(
    directory: Path, *, customers: int = 40, heavy_rows: int = 0, seed_value: int = 7, database_url: str = ""
) -> SeededStore:
    url = database_url or f"sqlite:///{directory / 'store.sqlite3'}"
    path = directory / "datamap.yaml"
    seed_store(
        database_url=url,
        datamap_path=path,
        customers=customers,
        heavy_customer_rows=heavy_rows,
        seed=seed_value,
    )
    return SeededStore(url, path, load_datamap(path))

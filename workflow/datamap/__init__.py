"""The store's data map (DESIGN §2): which tables hold which customers' data, of which category,
how they join to the customer, how each category is erased and what may be rectified.

``configured_datamap()`` loads every file named in ``settings.STORE_DATAMAPS``.
"""

from collections.abc import Sequence
from pathlib import Path

from django.conf import settings

from .connect import SourceUnavailable, connect
from .customers import (
    ErasureResult,
    Rectification,
    customer_contacts,
    erase_category,
    find_customer_by_contact,
    opt_out_of_marketing,
    rectify,
)
from .model import CategoryPolicy, CustomerJoin, DataMap, Erasure, MarketingOptOut, Source, Table
from .schema import DataMapError, load_datamap, load_datamaps, parse_datamap


def configured_datamap(paths: Sequence[str | Path] | None = None) -> DataMap:
    """The deployment's data map: every file of ``STORE_DATAMAPS`` (or ``paths``), merged."""
    return load_datamaps(paths if paths is not None else settings.STORE_DATAMAPS)


__all__ = [
    "CategoryPolicy",
    "CustomerJoin",
    "DataMap",
    "DataMapError",
    "Erasure",
    "ErasureResult",
    "MarketingOptOut",
    "Rectification",
    "Source",
    "SourceUnavailable",
    "Table",
    "configured_datamap",
    "connect",
    "customer_contacts",
    "erase_category",
    "find_customer_by_contact",
    "load_datamap",
    "load_datamaps",
    "opt_out_of_marketing",
    "parse_datamap",
    "rectify",
]

"""The demo store: a generated store database and its data map (``manage.py seed_store``)."""

from .seed import HEAVY_CUSTOMER_ID, PERSONAS, SOURCE, Persona, SeedResult, seed_store

__all__ = ["HEAVY_CUSTOMER_ID", "PERSONAS", "SOURCE", "Persona", "SeedResult", "seed_store"]

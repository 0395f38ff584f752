from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflow.datamap.connect import SourceUnavailable
from workflow.errors import InvalidInput
from workflow.store import seed_store
from workflow.store.seed import url_has_password


class Command(BaseCommand):
    help = "Build the demo store's database (generated customers, deterministic for a seed) and its data map."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--customers", type=int, default=200, help="number of customers (default 200)")
        parser.add_argument(
            "--heavy-customer-rows", type=int, default=0, help="access-log rows of customer 1 (e.g. 100000)"
        )
        parser.add_argument("--seed", type=int, default=1403)
        parser.add_argument(
            "--database-url",
            default="",
            help="store database URL (default: SQLite at VAR_DIR/store/store.sqlite3)",
        )
        parser.add_argument(
            "--datamap", default="", help="where to write the data map (default: VAR_DIR/store/datamap.yaml)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["customers"] < 1 or options["heavy_customer_rows"] < 0:
            raise CommandError("--customers must be at least 1 and --heavy-customer-rows at least 0")
        store_dir = Path(settings.VAR_DIR) / "store"
        url = options["database_url"] or f"sqlite:///{store_dir / 'store.sqlite3'}"
        datamap = Path(options["datamap"] or store_dir / "datamap.yaml")
        # The map never holds a password: such URLs are read from the environment at load time.
        url_in_map = "${STORE_DATABASE_URL}" if url_has_password(url) else url
        try:
            result = seed_store(
                database_url=url,
                datamap_path=datamap,
                customers=options["customers"],
                heavy_customer_rows=options["heavy_customer_rows"],
                seed=options["seed"],
                datamap_url=url_in_map,
            )
        except (SourceUnavailable, InvalidInput) as err:
            raise CommandError(str(err)) from err
        counts = ", ".join(f"{table} {n}" for table, n in result.counts.items())
        self.stdout.write(self.style.SUCCESS(f"store seeded: {counts}"))
        self.stdout.write(f"data map written to {result.datamap_path}")
        if url_in_map != url:
            self.stdout.write(
                "the data map reads the URL from STORE_DATABASE_URL: set it in the portal's environment"
            )

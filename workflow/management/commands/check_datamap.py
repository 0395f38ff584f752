from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflow.datamap import DataMapError, load_datamap
from workflow.datamap.check import datamap_problems


class Command(BaseCommand):
    help = (
        "Validate data map files and check them against their live databases (tables, columns, joins); "
        "report every problem at once. Without FILE, checks every map of STORE_DATAMAPS."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", nargs="*", help="data map file(s) (YAML)")

    def handle(self, *args: Any, **options: Any) -> None:
        files = options["file"] or list(settings.STORE_DATAMAPS)
        failed = 0
        for path in files:
            try:
                datamap = load_datamap(path)
            except DataMapError as err:
                for problem in err.problems:
                    self.stderr.write(f"{path}: {problem}")
                failed += len(err.problems)
                continue
            problems = datamap_problems(datamap)
            for problem in problems:
                self.stderr.write(f"{path}: {problem}")
            failed += len(problems)
            if not problems:
                tables = sum(len(s.tables) for s in datamap.sources.values())
                summary = f"{len(datamap.sources)} source(s), {tables} tables, every join resolves"
                self.stdout.write(self.style.SUCCESS(f"{path}: data map OK: {summary}"))
        if failed:
            raise CommandError(f"{failed} problem(s) in {', '.join(map(str, files))}", returncode=1)

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from workflow.datamap import DataMapError, load_datamap
from workflow.datamap.check import datamap_problems


class Command(BaseCommand):
    help = "Validate a data map file and check it against its live database; report every problem at once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="the data map (YAML)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            datamap = load_datamap(options["file"])
        except DataMapError as err:
            for problem in err.problems:
                self.stderr.write(f"{options['file']}: {problem}")
            raise CommandError(f"{len(err.problems)} problem(s) in {options['file']}", returncode=1) from err
        problems = datamap_problems(datamap)
        if problems:
            for problem in problems:
                self.stderr.write(f"{options['file']}: {problem}")
            raise CommandError(f"{len(problems)} problem(s) against the live database", returncode=1)
        tables = sum(len(s.tables) for s in datamap.sources.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"data map OK: {len(datamap.sources)} source(s), {tables} tables, every join resolves"
            )
        )

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from workflow.audit.checkpoint import CheckpointGap
from workflow.audit.evidence import export_order, export_range
from workflow.calendar import parse_date
from workflow.errors import DomainError
from workflow.keys import SigningMaterialError


class Command(BaseCommand):
    help = (
        "Write a signed evidence bundle (JSON Lines of audit events, the checkpoints covering them and "
        "their proofs) for an order or a date range (Jalali or Gregorian dates)."
    )

    def add_arguments(self, parser: Any) -> None:
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--order", metavar="REF", help="the order's reference, e.g. DO-1403-000012")
        scope.add_argument(
            "--from", dest="first", metavar="DATE", help="first day, e.g. 1403-12-01 or 2025-02-19"
        )
        parser.add_argument("--to", dest="last", metavar="DATE", help="last day (with --from)")
        parser.add_argument("--out", required=True, type=Path, metavar="FILE")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["order"]:
                bundle = export_order(options["order"])
            else:
                if not options["last"]:
                    raise CommandError("--from needs --to")
                bundle = export_range(parse_date(options["first"]), parse_date(options["last"]))
        except (DomainError, CheckpointGap, SigningMaterialError) as err:
            raise CommandError(str(err), returncode=1) from err
        options["out"].write_bytes(bundle)
        self.stdout.write(
            self.style.SUCCESS(f"evidence bundle written to {options['out']} ({len(bundle)} bytes)")
        )

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from workflow.audit.verify import verify_chains


class Command(BaseCommand):
    help = "Verify every hash chain of the audit trail; exit 1 naming the first broken event."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--all", action="store_true", help="list every break, not only the first")

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chains()
        if report.intact:
            self.stdout.write(
                self.style.SUCCESS(f"audit trail intact: {report.events} events in {report.streams} streams verified")
            )
            return
        breaks = report.breaks if options["all"] else report.breaks[:1]
        for broken in breaks:
            self.stderr.write(f"BROKEN: {broken}")
        raise CommandError(
            f"audit trail broken: first broken event is stream {report.breaks[0].stream!r} seq {report.breaks[0].seq} "
            f"({len(report.breaks)} break(s) in {report.events} events, {report.streams} streams)",
            returncode=1,
        )

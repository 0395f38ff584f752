from typing import Any

from django.core.management.base import BaseCommand, CommandError

from workflow.audit.integrity import record_verification
from workflow.audit.verify import verify_chains
from workflow.audit.witness_verify import read_witness
from workflow.models import Checkpoint


class Command(BaseCommand):
    help = (
        "Verify every hash chain of the audit trail against the signed checkpoints in the witness; "
        "exit 1 naming the first broken event."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--all", action="store_true", help="list every break, not only the first")
        parser.add_argument(
            "--no-record",
            action="store_true",
            help="do not audit the run (the integrity panel shows audited runs)",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="PostgreSQL: verify ranges of streams in this many processes "
            "(default AUDIT_VERIFY_PROCESSES: auto, two for a trail of 100,000 events or more "
            "on a host with two CPUs or more, else one)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        witness = read_witness()
        for problem in witness.problems:
            self.stderr.write(f"WITNESS: {problem}")
        recorded = Checkpoint.objects.count()
        if recorded > witness.checkpoints + 1:
            # One may be on its way (committed, not yet published); more means the witness lost some.
            held = witness.checkpoints
            witness.problems.append(
                f"the database records {recorded} checkpoints; the witness holds {held} valid ones"
            )
            self.stderr.write(f"WITNESS: {witness.problems[-1]}")
        if options["processes"] is not None and options["processes"] < 1:
            raise CommandError("--processes must be at least 1")
        report = verify_chains(checkpointed=witness.promises, processes=options["processes"])
        if not options["no_record"]:
            record_verification(report, witness)
        latest = witness.latest
        against = "no signed checkpoint yet"
        if latest:
            against = f"checked against checkpoint {latest['number']} ({latest['tree_size']} events"
            against += f", {latest['issued_at']})"
        if report.intact and not witness.problems:
            self.stdout.write(
                self.style.SUCCESS(
                    f"audit trail intact: {report.events} events in {report.streams} streams verified; "
                    + against
                )
            )
            return
        breaks = report.breaks if options["all"] else report.breaks[:1]
        for broken in breaks:
            self.stderr.write(f"BROKEN: {broken}")
        if not report.breaks:
            raise CommandError("the witness of the audit trail is broken (see above)", returncode=1)
        first = report.breaks[0]
        raise CommandError(
            f"audit trail broken: first broken event is stream {first.stream!r} seq {first.seq} "
            f"({len(report.breaks)} break(s) in {report.events} events, {report.streams} streams; {against})",
            returncode=1,
        )

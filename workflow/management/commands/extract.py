"""``manage.py extract``: identity matching and scoped extraction from the command line, through
the same code as the portal's export. Every bad input is refused before anything is written."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from workflow.calendar import parse_date
from workflow.choices import NEEDS_JUSTIFICATION, NEVER_DISCLOSED, DataCategory, IdentifierKind
from workflow.datamap import configured_datamap, load_datamap
from workflow.errors import DomainError
from workflow.extraction import ScopeRequest, extract_scope
from workflow.matching import MatchStatus, match_identifiers
from workflow.models import DisclosureOrder


def _identifier(text: str) -> tuple[str, str]:
    kind, sep, value = text.partition("=")
    if not sep or not value.strip():
        raise CommandError(f"--identifier {text!r}: write it as KIND=VALUE, e.g. national_id=0012345679")
    if kind not in IdentifierKind.values:
        raise CommandError(
            f"--identifier {text!r}: unknown kind {kind!r}; known kinds: {', '.join(IdentifierKind.values)}"
        )
    return kind, value


class Command(BaseCommand):
    help = "Match identifiers to store customers and extract their data (JSON Lines, CSV, manifest)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--datamap", action="append", default=[], help="data map file (default: STORE_DATAMAPS)"
        )
        parser.add_argument("--identifier", action="append", default=[], required=True, metavar="KIND=VALUE")
        parser.add_argument("--categories", required=True, help="comma-separated data categories")
        parser.add_argument(
            "--from", dest="date_from", required=True, help="first day (1403-01-01 or 2024-03-20)"
        )
        parser.add_argument("--to", dest="date_to", required=True, help="last day, inclusive")
        parser.add_argument("--out", required=True, help="output directory (must not exist or be empty)")
        parser.add_argument(
            "--order", default="", help="a disclosure order's reference: the scope must fit inside it"
        )
        parser.add_argument(
            "--customer", action="append", default=[], help="extract only this matched customer key"
        )
        parser.add_argument(
            "--third-party-justification", default="", help="required for third_party_recipient"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._handle(options)
        except DomainError as err:
            raise CommandError(str(err)) from err

    def _handle(self, options: dict[str, Any]) -> None:
        identifiers = [_identifier(text) for text in options["identifier"]]
        categories = [c.strip() for c in options["categories"].split(",") if c.strip()]
        unknown = [c for c in categories if c not in DataCategory.values]
        if not categories or unknown:
            raise CommandError(
                f"--categories: unknown {', '.join(unknown) or '(none given)'}; "
                f"known: {', '.join(DataCategory.values)}"
            )
        if set(categories) & NEVER_DISCLOSED:
            raise CommandError("--categories: credentials are never extracted")
        if set(categories) & NEEDS_JUSTIFICATION and not options["third_party_justification"].strip():
            raise CommandError(
                "third_party_recipient needs --third-party-justification (recorded in the manifest)"
            )
        date_from, date_to = parse_date(options["date_from"]), parse_date(options["date_to"])
        if date_from > date_to:
            raise CommandError(f"--from {options['date_from']} is after --to {options['date_to']}")
        if options["order"]:
            self._check_within_order(options["order"], categories, date_from, date_to)
        datamap = (
            load_datamap(options["datamap"][0])
            if len(options["datamap"]) == 1
            else configured_datamap(options["datamap"] or None)
        )
        report = match_identifiers(identifiers, datamap=datamap)
        for match in report.identifiers:
            where = ", ".join(f"{e.customer_key} ({e.table}.{e.column})" for e in match.evidence)
            self.stdout.write(f"{match.kind}={match.value}: {match.status} {where or match.problem}")
        invalid = report.with_status(MatchStatus.INVALID)
        if invalid:
            raise CommandError("; ".join(f"{m.kind}={m.value}: {m.problem}" for m in invalid))
        matched = [c.customer_key for c in report.customers]
        chosen = options["customer"] or matched
        stray = [key for key in chosen if key not in matched]
        if stray:
            raise CommandError(f"--customer {', '.join(stray)} was not matched by any identifier")
        if not options["customer"] and (report.with_status(MatchStatus.AMBIGUOUS) or report.conflicting):
            raise CommandError(
                f"the identifiers point to several customers ({', '.join(matched)}): "
                "choose with --customer KEY"
            )
        if not chosen:
            raise CommandError("no customer matched the identifiers; nothing was extracted")
        requests = [ScopeRequest(key, categories, date_from, date_to) for key in chosen]
        manifest = extract_scope(
            requests,
            out_dir=Path(options["out"]),
            third_party_justification=options["third_party_justification"],
            datamap=datamap,
        )
        for extracted in manifest.files:
            self.stdout.write(
                f"{extracted.relpath}\t{extracted.rows} rows\t{extracted.size} bytes\t{extracted.sha256}"
            )
        self.stdout.write(self.style.SUCCESS(f"extracted {len(manifest.files)} files to {options['out']}"))

    def _check_within_order(
        self, reference: str, categories: list[str], date_from: Any, date_to: Any
    ) -> None:
        order = DisclosureOrder.objects.filter(reference=reference).first()
        if order is None:
            raise CommandError(f"--order {reference}: no such disclosure order")
        beyond = [c for c in categories if c not in order.categories_requested]
        if beyond:
            raise CommandError(f"--categories {', '.join(beyond)}: not requested by order {reference}")
        if date_from < order.requested_from or date_to > order.requested_to:
            raise CommandError(
                f"the range {date_from}..{date_to} is outside order {reference}'s "
                f"{order.requested_from}..{order.requested_to}"
            )

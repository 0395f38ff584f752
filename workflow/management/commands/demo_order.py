import datetime as dt
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from workflow import demo
from workflow.choices import DataCategory, Language
from workflow.datamap import configured_datamap
from workflow.errors import DomainError
from workflow.keys import ensure_demo_signing_material
from workflow.models import DisclosureState, Package
from workflow.store.seed import PERSONAS
from workflow.vault import read_sealed

DEMO_CATEGORIES = [
    DataCategory.IDENTITY,
    DataCategory.CONTACT,
    DataCategory.ORDER,
    DataCategory.NETWORK_ACTIVITY,
    DataCategory.THIRD_PARTY_RECIPIENT,  # asked for, excluded without a justification: the package says why
]


class Command(BaseCommand):
    help = (
        "Run one demo disclosure order end to end through the real services (intake, verification, "
        "scoping, approval, export, release) and write the released, signed package."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, required=True, help="where to write the package PDF")
        parser.add_argument("--language", choices=Language.values, default=Language.PERSIAN)

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        ensure_demo_signing_material()
        try:
            configured_datamap()
        except Exception:
            self.stdout.write("no demo store found: seeding one (manage.py seed_store)")
            call_command("seed_store", stdout=self.stdout)
        users = demo.ensure_users()
        authority = demo.ensure_authorities()[0]
        persona = PERSONAS[0]
        today = timezone.localdate()
        try:
            with transaction.atomic():
                order = demo.drive_order(
                    DisclosureState.RELEASED,
                    officer=users["officer"],
                    approver=users["approver"],
                    authority=authority,
                    scope=demo.scope_from_store,
                    authority_reference=f"9903-{today:%y%m%d}-{timezone.now():%H%M%S}",
                    categories=DEMO_CATEGORIES,
                    requested_from=dt.date(2015, 1, 1),
                    requested_to=today,
                    identifiers=[("national_id", persona.national_id), ("mobile", persona.mobile)],
                    language=options["language"],
                    legal_basis="Article 104 of the Code of Criminal Procedure (demo)",
                )
        except DomainError as err:
            raise CommandError(str(err)) from err
        except ValueError as err:
            raise CommandError(str(err)) from err
        package = Package.objects.get(order=order, scope_revision=order.scope_revision)
        out.write_bytes(read_sealed(default_storage, package.signed_file))
        self.stdout.write(f"order {order.reference} released; package {package.package_id} written to {out}")
        self.stdout.write(f"check it with: python manage.py verify_package {out}")

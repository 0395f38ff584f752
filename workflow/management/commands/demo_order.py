import datetime as dt
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from requests_portal.celery import app
from requests_portal.models import User
from workflow.choices import (
    AuthorityKind,
    DataCategory,
    InstrumentType,
    Language,
    NoticeRule,
    VerificationItem,
)
from workflow.datamap import configured_datamap
from workflow.errors import DomainError
from workflow.keys import ensure_demo_signing_material
from workflow.models import (
    Authority,
    AuthorityContact,
    AuthorityInstrument,
    DisclosureOrder,
    DisclosureState,
    Package,
)
from workflow.services import disclosure as svc
from workflow.services.scoping import CustomerChoice, match_order, scope_from_matches
from workflow.store.seed import PERSONAS
from workflow.vault import read_sealed

DEMO_CATEGORIES = [
    DataCategory.IDENTITY,
    DataCategory.CONTACT,
    DataCategory.ORDER,
    DataCategory.NETWORK_ACTIVITY,
    DataCategory.THIRD_PARTY_RECIPIENT,  # asked for, excluded without a justification: the package says why
]


def demo_user(username: str, role: str) -> User:
    user, _created = User.objects.get_or_create(
        username=username, defaults={"email": f"{username}@store.example"}
    )
    user.set_unusable_password()
    user.save()
    user.groups.set([Group.objects.get(name=role)])
    return User.objects.get(pk=user.pk)  # permissions cached afresh


def demo_authority() -> Authority:
    authority, created = Authority.objects.get_or_create(
        name_en="Tehran General Court, Branch 12 (DEMO)",
        jurisdiction="Tehran",
        defaults={"name_fa": "شعبهٔ ۱۲ دادگاه عمومی تهران (نمایشی)", "kind": AuthorityKind.COURT},
    )
    if created:
        AuthorityInstrument.objects.create(authority=authority, instrument=InstrumentType.COURT_ORDER)
        AuthorityContact.objects.create(
            authority=authority,
            channel="phone",
            value="+982100000012",
            source="the judiciary's public directory",
        )
    return authority


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
        officer = demo_user("demo.officer", "legal_officer")
        approver = demo_user("demo.approver", "approver")
        persona = PERSONAS[0]
        today = timezone.localdate()
        try:
            order = self.run_order(officer, approver, persona, today, options["language"])
        except DomainError as err:
            raise CommandError(f"{err.message} {' '.join(map(str, err.details))}") from err
        package = Package.objects.get(order=order, scope_revision=order.scope_revision)
        out.write_bytes(read_sealed(default_storage, package.signed_file))
        self.stdout.write(f"order {order.reference} released; package {package.package_id} written to {out}")
        self.stdout.write(f"check it with: python manage.py verify_package {out}")

    def run_order(
        self, officer: User, approver: User, persona: Any, today: dt.date, language: str
    ) -> DisclosureOrder:
        authority = demo_authority()
        order = svc.register_order(
            svc.Intake(
                authority=authority,
                instrument=InstrumentType.COURT_ORDER,
                authority_reference=f"9903-{today:%y%m%d}-{DisclosureOrder.objects.count() + 1}",
                issued_on=today - dt.timedelta(days=2),
                received_on=today,
                due_on=today + dt.timedelta(days=10),
                categories=DEMO_CATEGORIES,
                requested_from=dt.date(2015, 1, 1),
                requested_to=today,
                identifiers=[("national_id", persona.national_id), ("mobile", persona.mobile)],
                notice_rule=NoticeRule.NOTIFY,
                language=language,
                legal_basis="Article 104 of the Code of Criminal Procedure (demo)",
            ),
            actor=officer,
        )
        order = svc.start_verification(order, actor=officer)
        contact = authority.contacts.first()
        for item in VerificationItem.values:
            details = None
            if item == VerificationItem.AUTHENTICITY_CONFIRMED and contact is not None:
                details = {
                    "contact_id": str(contact.pk),
                    "spoke_with": "the branch clerk (demo)",
                    "called_at": timezone.now().isoformat(),
                }
            order = svc.record_check(
                order, actor=officer, item=item, passed=True, note="demo", details=details
            )
        order = svc.verify(order, actor=officer)
        report = match_order(order, actor=officer)
        if not report.customers:
            raise CommandError("the demo store has no customer matching the demo persona; run seed_store")
        order = scope_from_matches(
            order, actor=officer, choices=[CustomerChoice(report.customers[0].customer_key)], report=report
        )
        order = svc.submit_scope(order, actor=officer)
        # The build runs in this process (as a worker would run it) so that the command needs
        # no worker running; the order still goes through the same task and claim.
        eager = app.conf.task_always_eager
        app.conf.task_always_eager = True
        try:
            order = svc.approve_scope(order, actor=approver)
        finally:
            app.conf.task_always_eager = eager
        order = DisclosureOrder.objects.get(pk=order.pk)
        if order.state != DisclosureState.PACKAGE_READY:
            raise CommandError(f"the export failed: {order.export_error}")
        return svc.release(order, actor=approver)

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workflow.audit.bundle import EvidenceRefused, verify_bundle
from workflow.keys import SigningMaterialError, load_certificate


class Command(BaseCommand):
    help = (
        "Verify an evidence bundle with nothing but the bundle and the store's CA certificate "
        "(no database access): exit 0 when every claim holds, 1 naming the first that does not."
    )
    requires_system_checks: list[str] = []  # an outside auditor's machine has no database to check

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("bundle", type=Path)
        parser.add_argument(
            "--ca",
            type=Path,
            default=None,
            help="the store's CA certificate (PEM); default: SIGNING_CA_CERT_PATH",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            ca = load_certificate(options["ca"] or settings.SIGNING_CA_CERT_PATH)
            raw = options["bundle"].read_bytes()
        except (SigningMaterialError, OSError) as err:
            raise CommandError(str(err), returncode=1) from err
        try:
            verified = verify_bundle(raw, ca)
        except EvidenceRefused as err:
            raise CommandError(f"evidence REFUSED: {err}", returncode=1) from err
        anchor = verified.anchor
        self.stdout.write(
            self.style.SUCCESS(
                f"evidence verified: {verified.events} events in {verified.streams} streams, "
                f"covered by checkpoints {verified.checkpoints}, anchored in checkpoint {anchor['number']} "
                f"({anchor['tree_size']} events, root {anchor['root_hash']}, signed {anchor['issued_at']})"
            )
        )

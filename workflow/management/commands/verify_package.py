import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from workflow.package.verify import PackageKind, verify_package_bytes


class Command(BaseCommand):
    help = (
        "Verify a released disclosure package or a customer's access package: the signature is "
        "intact and trusted, every attachment matches manifest.json, and the package id and hash "
        "are recorded here. Exits 0 when all hold, 1 naming the failed check otherwise."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the package PDF")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            pdf = path.read_bytes()
        except OSError as err:
            self.stderr.write(f"FAILED (readable): {path} cannot be read ({err.strerror})")
            sys.exit(1)
        result = verify_package_bytes(pdf)
        if not result.ok:
            self.stderr.write(f"FAILED ({result.failed_check}): {result.reason}")
            for check in result.passed:
                self.stderr.write(f"  passed: {check}")
            sys.exit(1)
        if result.kind == PackageKind.ACCESS:
            self.stdout.write(f"OK access package {result.package_id} for request {result.order_reference}")
            self.stdout.write(f"   signer: {result.signer}")
            self.stdout.write(f"   request reference: {result.order_reference}")
        else:
            self.stdout.write(f"OK package {result.package_id}")
            self.stdout.write(f"   signer: {result.signer}")
            self.stdout.write(f"   order reference: {result.order_reference}")
        if result.signed_at:
            self.stdout.write(f"   signed at: {result.signed_at}")
        self.stdout.write(f"   checks: {', '.join(result.passed)}")

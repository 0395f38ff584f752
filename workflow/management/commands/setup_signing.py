from typing import Any

from django.core.management.base import BaseCommand

from workflow.keys import SigningPaths, ensure_demo_signing_material


class Command(BaseCommand):
    help = "Create a demo CA and signing certificate when no signing key is configured."

    def handle(self, *args: Any, **options: Any) -> None:
        paths = SigningPaths.from_settings()
        if ensure_demo_signing_material(paths):
            self.stdout.write(f"created a DEMO signing certificate: {paths.cert} (CA: {paths.ca_cert})")
        else:
            self.stdout.write(f"signing certificate in place: {paths.cert}")

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from workflow import demo
from workflow.datamap import configured_datamap
from workflow.keys import ensure_demo_signing_material


class Command(BaseCommand):
    help = "Create the demo: authorities, staff of every role, and orders in every state (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_demo_signing_material()
        try:
            configured_datamap()
        except Exception:  # no store yet: the demo packages are built from one
            call_command("seed_store", stdout=self.stdout)
        authorities = demo.ensure_authorities()
        users = demo.ensure_users()
        made = demo.ensure_demo_orders(users, authorities)
        self.stdout.write(f"authorities: {len(authorities)}; demo orders created now: {made}")
        self.stdout.write("")
        self.stdout.write(f"Demo sign-ins (password for all: {demo.DEMO_PASSWORD})")
        for demo_user in demo.DEMO_USERS:
            self.stdout.write(f"  {demo_user.username:<10} {demo_user.role}")

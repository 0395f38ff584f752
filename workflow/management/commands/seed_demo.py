from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from requests_portal.accounts import ensure_totp_device
from workflow import demo
from workflow.datamap import configured_datamap
from workflow.keys import ensure_demo_signing_material
from workflow.store.seed import PERSONAS


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
        self.stdout.write(f"Staff sign-ins at /accounts/login/ (password for all: {demo.DEMO_PASSWORD})")
        self.stdout.write("  then the authenticator code: add the TOTP secret to an authenticator app,")
        self.stdout.write("  or print the current code with: python manage.py demo_totp USER")
        for demo_user in demo.DEMO_USERS:
            secret = ensure_totp_device(users[demo_user.username])
            self.stdout.write(f"  {demo_user.username:<10} {demo_user.role:<14} TOTP secret {secret}")
        persona = PERSONAS[0]
        self.stdout.write("")
        self.stdout.write(
            f"Customer sign-in at /me/sign-in/ with {persona.email} (the code is printed by the worker)"
        )
        self.stdout.write("Verify a package at /verify/; auditors work at /auditor/.")

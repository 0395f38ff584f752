"""Print a staff user's current TOTP code (and secret), for the demo and for manual testing."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from requests_portal.accounts.totp import current_code, device_of, secret_of
from requests_portal.models import User


class Command(BaseCommand):
    help = "Print the current authenticator code of USER (the demo's stand-in for a phone)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--secret", action="store_true", help="also print the base32 secret")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        device = device_of(user)
        if device is None:
            raise CommandError(f"{user.username} has no authenticator enrolled.")
        if options["secret"]:
            self.stdout.write(f"secret: {secret_of(device)}")
        self.stdout.write(current_code(device))

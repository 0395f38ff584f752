from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RequestsPortalConfig(AppConfig):
    name = "requests_portal"
    verbose_name = "Requests Portal"

    def ready(self) -> None:
        from . import roles, signals  # noqa: F401  (sign-in audit receivers)
        from .accounts import staff_state

        # The sign-in gate's cached state is renewed by the changes that alter its decisions.
        staff_state.connect()

        # Groups and their permissions are data that must follow the code: re-synced after
        # every migrate, so a new permission reaches every role without a manual step.
        post_migrate.connect(roles.sync_roles_after_migrate, sender=self)

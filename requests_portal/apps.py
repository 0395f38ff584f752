from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RequestsPortalConfig(AppConfig):
    name = "requests_portal"
    verbose_name = "Requests Portal"

    def ready(self) -> None:
        from . import roles, signals  # noqa: F401  (sign-in audit receivers)

        # Groups and their permissions are data that must follow the code: re-synced after
        # every migrate, so a new permission reaches every role without a manual step.
        post_migrate.connect(roles.sync_roles_after_migrate, sender=self)

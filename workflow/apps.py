from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "workflow"
    verbose_name = _("Orders and requests")

    def ready(self) -> None:
        # The package pipeline plugs into the disclosure services: an approved scope (or a
        # retried export) enqueues the build on commit, and release seals the package.
        from workflow.package.seal import seal_on_release
        from workflow.services import disclosure
        from workflow.tasks import enqueue_package_build

        if enqueue_package_build not in disclosure.export_enqueuers:
            disclosure.export_enqueuers.append(enqueue_package_build)
        if seal_on_release not in disclosure.release_hooks:
            disclosure.release_hooks.append(seal_on_release)

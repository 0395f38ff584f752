"""The five roles of DESIGN.md, as groups with model permissions.

Permissions answer "may this kind of user ever do this"; whether this user may act on this
order (four eyes, visibility) is decided per object in ``workflow.permissions``.
"""

from typing import Any

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    LEGAL_OFFICER = "legal_officer", _("Legal officer")
    APPROVER = "approver", _("Approver")
    AUDITOR = "auditor", _("Auditor")
    ADMINISTRATOR = "administrator", _("Administrator")
    CUSTOMER = "customer", _("Customer")


STAFF_ROLES = frozenset({Role.LEGAL_OFFICER, Role.APPROVER, Role.AUDITOR, Role.ADMINISTRATOR})

# app_label.codename per role. Officers prepare, approvers decide; neither sees audit tooling,
# auditors see no case content, administrators manage users and registries but no case content.
ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.LEGAL_OFFICER: {
        "workflow.view_disclosureorder",
        "workflow.register_order",
        "workflow.verify_order",
        "workflow.scope_order",
        "workflow.deliver_order",
        "workflow.withdraw_order",
        "workflow.retry_export",
        "workflow.view_preservationorder",
        "workflow.handle_preservation",
        "workflow.view_authority",
        "workflow.view_datasubjectrequest",
        "workflow.handle_dsr",
    },
    Role.APPROVER: {
        "workflow.view_disclosureorder",
        "workflow.approve_scope",
        "workflow.release_package",
        "workflow.retry_export",
        "workflow.view_preservationorder",
        "workflow.approve_preservation",
        "workflow.view_authority",
        "workflow.view_datasubjectrequest",
        "workflow.handle_dsr",
    },
    Role.AUDITOR: {
        "workflow.view_auditevent",
        "workflow.verify_audit",
        "workflow.view_authority",
    },
    Role.ADMINISTRATOR: {
        "workflow.view_authority",
        "workflow.add_authority",
        "workflow.change_authority",
        "workflow.delete_authority",
        *(
            f"workflow.{verb}_{model}"
            for verb in ("view", "add", "change", "delete")
            for model in ("authorityinstrument", "authoritycontact")
        ),
        "requests_portal.view_user",
        "requests_portal.add_user",
        "requests_portal.change_user",
    },
    Role.CUSTOMER: set(),
}


def sync_roles() -> None:
    """Create the role groups and set exactly the permissions listed above."""
    # post_migrate reaches this app before the apps after it have their permissions made.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    for role, perm_names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        perms = []
        for name in sorted(perm_names):
            app_label, codename = name.split(".")
            perms.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(perms)


def sync_roles_after_migrate(**kwargs: Any) -> None:
    sync_roles()

from django.contrib.auth.models import Group

from requests_portal.roles import ROLE_PERMISSIONS, Role


def test_every_role_exists_as_a_group_with_exactly_its_permissions(db):
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert granted == perms


def test_auditors_and_administrators_hold_no_case_permission(db):
    for role in (Role.AUDITOR, Role.ADMINISTRATOR, Role.CUSTOMER):
        assert not {p for p in ROLE_PERMISSIONS[role] if "disclosureorder" in p or "order" in p.split(".")[1]}


def test_approvers_cannot_prepare_and_officers_cannot_decide(db):
    assert "workflow.approve_scope" not in ROLE_PERMISSIONS[Role.LEGAL_OFFICER]
    assert "workflow.release_package" not in ROLE_PERMISSIONS[Role.LEGAL_OFFICER]
    assert "workflow.scope_order" not in ROLE_PERMISSIONS[Role.APPROVER]
    assert "workflow.verify_order" not in ROLE_PERMISSIONS[Role.APPROVER]
